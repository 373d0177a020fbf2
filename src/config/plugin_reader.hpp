// Reads plugin entries generically: `plugins:` lists nested in a service, route or
// consumer, and top-level `plugins[]` entries naming their service / route / consumer.
// Each entry's `config` is validated by its plugin's schema (plugin/plugin.hpp); an
// unknown plugin name is an error, never ignored (an ignored auth plugin would be a
// security hole).
#pragma once

#include <vector>

#include "config/yaml_json.hpp"
#include "config/yaml_reader.hpp"

namespace portico::config {

// An entry read but not yet attached (references resolve once everything is read).
struct PendingPlugin {
  PluginEntry entry;
  struct Ref {
    std::string value;  // name or id; empty when not set
    YAML::Node node;
  };
  Ref service, route, consumer;  // top-level entries only
  YAML::Node node, config_node;
  MarkMap marks;  // of the entry's nodes, for errors found by the schema and its checks
  bool top_level = false;
};

enum class PluginOwner { service, route, consumer };

// A `plugins:` list nested in the entity of kind `owner` that is (or will be) at `index`.
void read_nested_plugins(YamlReader& reader, const YAML::Node& list, const std::string& path, PluginOwner owner,
                         std::size_t index, std::vector<PendingPlugin>& out);
void read_top_level_plugin(YamlReader& reader, const YAML::Node& node, const std::string& path,
                           std::vector<PendingPlugin>& out);

// Resolves references, checks each entry's scope against its schema, duplicates (one entry
// per plugin name and scope) and the schemas' own checks; fills config.plugins.
void resolve_plugins(YamlReader& reader, std::vector<PendingPlugin>& pending, DeclarativeConfig& config);

}  // namespace portico::config
