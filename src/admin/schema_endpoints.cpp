#include "admin/schema_endpoints.hpp"

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

}  // namespace portico::admin
