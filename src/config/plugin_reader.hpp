// Reads plugin entries: the `plugins:` list nested in a service or route, and top-level
// entries naming one. Until the plugin engine lands (see docs/configuration.md), only
// `circuit-breaker` is known (and cannot be global); any other plugin name is
// rejected as not supported yet, never ignored (an ignored auth plugin is a security hole).
#pragma once

#include <optional>

#include "config/yaml_reader.hpp"

namespace portico::config {

void read_scoped_plugins(YamlReader& reader, const YAML::Node& node, const std::string& path,
                         std::optional<CircuitBreakerConfig>& circuit_breaker);

// A top-level `plugins[]` entry, which names the service or route it applies to (resolved
// by the loader once every service and route is read).
struct TopLevelPlugin {
  std::optional<CircuitBreakerConfig> circuit_breaker;
  std::string service_ref, route_ref;  // name or id; at most one is set
  YAML::Node service_node, route_node, node;
  std::string path;
};
void read_top_level_plugin(YamlReader& reader, const YAML::Node& node, const std::string& path, TopLevelPlugin& out);

}  // namespace portico::config
