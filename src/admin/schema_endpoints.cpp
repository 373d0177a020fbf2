#include "admin/schema_endpoints.hpp"

#include "admin/kong_errors.hpp"
#include "config/entity_records.hpp"

#include <boost/json.hpp>

#include "plugin/config_schema.hpp"
#include "plugin/registry.hpp"

namespace portico::admin {

namespace json = boost::json;

std::string enabled_plugins_json() {
  json::array names;
  for (const auto* schema : plugin::all_schemas()) names.emplace_back(schema->name);
  return json::serialize(json::object{{"enabled_plugins", std::move(names)}});
}

std::string plugin_schema_json(const plugin::Schema& schema) {
  // A scope the plugin cannot have is described as Kong does: a foreign key that must be null.
  auto foreign = [](const char* entity, bool allowed) {
    json::object f{{"type", "foreign"}, {"reference", entity}, {"default", nullptr}};
    if (!allowed) f["eq"] = nullptr;
    return f;
  };
  json::object config = schema.config->describe();
  config["required"] = true;
  json::array fields{
      json::object{{"id", json::object{{"type", "string"}, {"uuid", true}, {"auto", true}}}},
      json::object{{"name", json::object{{"type", "string"}, {"required", true}}}},
      json::object{{"service", foreign("services", (schema.scopes & plugin::kService) != 0)}},
      json::object{{"route", foreign("routes", (schema.scopes & plugin::kRoute) != 0)}},
      json::object{{"consumer", foreign("consumers", (schema.scopes & plugin::kConsumer) != 0)}},
      json::object{{"enabled", json::object{{"type", "boolean"}, {"default", true}}}},
      json::object{{"tags", json::object{{"type", "set"}, {"elements", json::object{{"type", "string"}}}}}},
      json::object{{"config", std::move(config)}},
  };
  return json::serialize(json::object{{"fields", std::move(fields)}});
}

std::optional<std::string> entity_schema_json(std::string_view entity) {
  json::object described;
  if (entity == "services") {
    described = config::service_record().describe();
  } else if (entity == "routes") {
    described = config::route_record().describe();
    described["fields"].as_array().push_back(
        json::object{{"service", json::object{{"type", "foreign"}, {"reference", "services"}}}});
  } else {
    return std::nullopt;
  }
  described.erase("type");
  return json::serialize(described);
}

std::optional<std::pair<int, std::string>> validate_entity(std::string_view entity, const json::value& body,
                                                           schema::Input input) {
  schema::Errors errors;
  json::object fields = body.is_object() ? body.as_object() : json::object{};
  if (entity == "services") {
    config::ServiceConfig s;
    config::service_record().read(fields, s, errors, input);
  } else if (entity == "routes") {
    fields.erase("service");
    config::RouteConfig r;
    config::route_record().read(fields, r, errors, input);
  } else {
    return std::nullopt;
  }
  if (!errors.empty()) return std::make_pair(400, json::serialize(schema_violation(errors)));
  return std::make_pair(200, std::string(R"({"message":"schema validation successful"})"));
}

}  // namespace portico::admin
