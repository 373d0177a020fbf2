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

namespace {

// Calls fn(record, foreign keys the Admin API adds) for the entity named `entity` (Kong's
// schema names); false when it is not declared as a record.
template <typename Fn>
bool with_entity_record(std::string_view entity, Fn fn) {
  if (entity == "services") return fn(config::service_record(), std::initializer_list<std::pair<const char*, const char*>>{{"client_certificate", "certificates"}});
  if (entity == "routes") return fn(config::route_record(), std::initializer_list<std::pair<const char*, const char*>>{{"service", "services"}});
  if (entity == "upstreams") return fn(config::upstream_record(), std::initializer_list<std::pair<const char*, const char*>>{{"client_certificate", "certificates"}});
  if (entity == "targets") return fn(config::target_record(), std::initializer_list<std::pair<const char*, const char*>>{{"upstream", "upstreams"}});
  if (entity == "consumers") return fn(config::consumer_record(), std::initializer_list<std::pair<const char*, const char*>>{});
  std::initializer_list<std::pair<const char*, const char*>> consumer{{"consumer", "consumers"}};
  if (entity == "keyauth_credentials") return fn(config::keyauth_record(), consumer);
  if (entity == "basicauth_credentials") return fn(config::basicauth_record(), consumer);
  if (entity == "jwt_secrets") return fn(config::jwt_secret_record(), consumer);
  if (entity == "acls") return fn(config::acl_record(), consumer);
  if (entity == "certificates") return fn(config::certificate_record(), std::initializer_list<std::pair<const char*, const char*>>{});
  if (entity == "snis") return fn(config::sni_record(), std::initializer_list<std::pair<const char*, const char*>>{{"certificate", "certificates"}});
  if (entity == "ca_certificates") return fn(config::ca_certificate_record(), std::initializer_list<std::pair<const char*, const char*>>{});
  return false;
}

}  // namespace

std::optional<std::string> entity_schema_json(std::string_view entity) {
  json::object described;
  bool known = with_entity_record(entity, [&](const auto& record, auto foreign) {
    described = record.describe();
    for (const auto& [field, reference] : foreign) {
      described["fields"].as_array().push_back(
          json::object{{field, json::object{{"type", "foreign"}, {"reference", reference}}}});
    }
    return true;
  });
  if (!known) return std::nullopt;
  described.erase("type");
  return json::serialize(described);
}

std::optional<std::pair<int, std::string>> validate_entity(std::string_view entity, const json::value& body,
                                                           schema::Input input) {
  schema::Errors errors;
  json::object fields = body.is_object() ? body.as_object() : json::object{};
  bool known = with_entity_record(entity, [&](const auto& record, auto foreign) {
    for (const auto& [field, reference] : foreign) fields.erase(field);
    typename std::decay_t<decltype(record)>::Value value{};
    record.read(fields, value, errors, input);
    return true;
  });
  if (!known) return std::nullopt;
  if (!errors.empty()) return std::make_pair(400, json::serialize(schema_violation(errors)));
  return std::make_pair(200, std::string(R"({"message":"schema validation successful"})"));
}

}  // namespace portico::admin
