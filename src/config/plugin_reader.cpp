#include "config/plugin_reader.hpp"

namespace portico::config {
namespace {

void read_circuit_breaker_config(YamlReader& r, const YAML::Node& node, const std::string& path, CircuitBreakerConfig& c) {
  FieldTable fields{
      {"max_failures", r.int_field(c.max_failures, 0, 1000000)},
      {"window_size", r.number_field(c.window_size, 0.001, 86400)},
      {"failure_ratio", r.number_field(c.failure_ratio, 0, 1)},
      {"min_requests", r.int_field(c.min_requests, 1, 1000000)},
      {"open_timeout", r.number_field(c.open_timeout, 0.001, 86400)},
      {"half_open_requests", r.int_field(c.half_open_requests, 1, 1000)},
      {"failure_statuses", r.int_list_field(c.failure_statuses, 100, 599)},
      {"count_timeouts", r.bool_field(c.count_timeouts)},
      {"count_connection_errors", r.bool_field(c.count_connection_errors)},
      {"error_status", r.int_field(c.error_status, 400, 599)},
      {"error_message", r.string_field(c.error_message)},
  };
  r.read_object(node, path, fields);
  if (c.max_failures == 0 && c.failure_ratio == 0) {
    r.add(node, path, "set max_failures or failure_ratio (both are 0: the circuit could never open)");
  }
}

// A reference to another entity: "name-or-id" or {name: ...} / {id: ...}.
FieldHandler entity_ref(YamlReader& r, std::string& out, YAML::Node& where) {
  return [&r, &out, &where](const YAML::Node& v, const std::string& p) {
    where.reset(v);
    if (v.IsScalar()) out = v.Scalar();
    else if (v.IsMap() && (v["name"] || v["id"])) out = (v["name"] ? v["name"] : v["id"]).as<std::string>("");
    else r.add(v, p, "expected a name or {name: ...} / {id: ...}");
  };
}

// `scope` is null for plugins nested in a service or route (which may not name one).
void read_plugin(YamlReader& r, const YAML::Node& node, const std::string& path,
                 std::optional<CircuitBreakerConfig>& circuit_breaker, TopLevelPlugin* scope) {
  std::string name;
  CircuitBreakerConfig cb;
  cb.mark = mark_of(node);
  YAML::Node config_node;
  std::string config_path;
  bool has_config = false;
  FieldTable fields{
      {"name", r.string_field(name)},
      {"id", r.ignored()},
      {"enabled", r.bool_field(cb.enabled)},
      {"config", [&](const YAML::Node& v, const std::string& p) {
         config_node.reset(v);
         config_path = p;
         has_config = true;
       }},
      {"protocols", r.ignored()},
      {"tags", r.ignored()},
      {"instance_name", r.ignored()},
      {"created_at", r.ignored()},
      {"updated_at", r.ignored()},
  };
  if (scope != nullptr) {
    fields.emplace("service", entity_ref(r, scope->service_ref, scope->service_node));
    fields.emplace("route", entity_ref(r, scope->route_ref, scope->route_node));
  }
  r.read_object(node, path, fields, {"consumer", "ordering"});
  if (!node.IsMap()) return;
  if (name.empty()) return r.add(node, path + ".name", "required field missing");
  if (name != "circuit-breaker") {
    return r.add(node["name"], path + ".name", "plugin '" + name + "' is not supported yet by Portico");
  }
  if (circuit_breaker) return r.add(node["name"], path + ".name", "plugin 'circuit-breaker' is configured twice here");
  if (scope != nullptr && scope->service_ref.empty() && scope->route_ref.empty()) {
    return r.add(node, path, "plugin 'circuit-breaker' applies to a service or a route: set 'service' or 'route'");
  }
  if (scope != nullptr && !scope->service_ref.empty() && !scope->route_ref.empty()) {
    return r.add(node, path, "set either 'service' or 'route', not both");
  }
  if (has_config) read_circuit_breaker_config(r, config_node, config_path, cb);
  circuit_breaker = std::move(cb);
}

}  // namespace

void read_scoped_plugins(YamlReader& r, const YAML::Node& node, const std::string& path,
                         std::optional<CircuitBreakerConfig>& circuit_breaker) {
  r.read_list(node, path, [&](const YAML::Node& n, const std::string& p) { read_plugin(r, n, p, circuit_breaker, nullptr); });
}

void read_top_level_plugin(YamlReader& reader, const YAML::Node& node, const std::string& path, TopLevelPlugin& out) {
  out.path = path;
  out.node.reset(node);
  read_plugin(reader, node, path, out.circuit_breaker, &out);
}

}  // namespace portico::config
