#include "admin/config_endpoint.hpp"

#include "admin/body_readers.hpp"
#include "admin/kong_errors.hpp"
#include "config/export.hpp"
#include "config/loader.hpp"
#include "http/params.hpp"

namespace portico::admin {

namespace json = boost::json;

Reply get_config(const config::DeclarativeConfig& current) {
  return {200, json::serialize(json::object{{"config", config::declarative_yaml(current)}})};
}

Reply post_config(const Request& request, const std::string& current_hash, const ActivateConfig& activate) {
  // The document's text: Kong takes it as the body itself (JSON) or in a `config` field.
  std::string text;
  RequestBody body = read_request_body(request.content_type, request.body);
  if (!body.value.ok()) {
    return {body.status, json::serialize(json::object{{"message", body.value.error().message}})};
  }
  const json::object& o = body.value->as_object();
  if (const auto* field = o.if_contains("config"); field != nullptr && o.size() == 1) {
    if (field->is_string()) text = std::string(field->as_string());
    else text = json::serialize(*field);
  } else if (body.input == schema::Input::typed) {
    text = std::string(request.body);
  } else {
    return {400, R"({"message":"expected a declarative configuration: a JSON body, or a 'config' field"})"};
  }
  auto loaded = config::load_declarative_text(text, "config");
  std::string check_hash = std::string(http::query_value(request.query, "check_hash"));
  if (loaded.ok() && (check_hash == "1" || check_hash == "true") && loaded.config.hash == current_hash) {
    return {304, ""};
  }
  if (!loaded.ok()) {
    schema::Errors errors;
    for (const auto& e : loaded.errors) {
      std::string where = e.mark.line > 0 ? "line " + std::to_string(e.mark.line) + ": " : "";
      errors.push_back({e.path, where + e.message, e.path.empty() ? schema::FieldError::Subject::record
                                                                   : schema::FieldError::Subject::value});
    }
    json::object violation = schema_violation(errors);
    violation["code"] = 14;
    violation["name"] = "invalid declarative configuration";
    violation["message"] = "declarative config is invalid: " + std::string(violation["message"].as_string());
    return {400, json::serialize(violation)};
  }
  json::object answer = config::declarative_json(loaded.config);
  answer.erase("_format_version");
  activate(std::move(loaded.config));
  return {201, json::serialize(answer)};
}

}  // namespace portico::admin
