// Reads the `plugins:` list nested in a service or route. Until the plugin engine lands
// (see docs/configuration.md), only `circuit-breaker` is known; any other plugin name is
// rejected as not supported yet, never ignored (an ignored auth plugin is a security hole).
#pragma once

#include <optional>

#include "config/yaml_reader.hpp"

namespace portico::config {

void read_scoped_plugins(YamlReader& reader, const YAML::Node& node, const std::string& path,
                         std::optional<CircuitBreakerConfig>& circuit_breaker);

}  // namespace portico::config
