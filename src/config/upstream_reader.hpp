// Reads a Kong `upstreams[]` entry: balancing algorithm, hash inputs, health checks,
// targets, and Portico's Envoy-style limits.
#pragma once

#include "config/yaml_reader.hpp"

namespace portico::config {

// Fills `u` from `node`, reporting every error through `reader`. Name uniqueness is
// checked by the caller.
void read_upstream(YamlReader& reader, const YAML::Node& node, const std::string& path, UpstreamConfig& u);

}  // namespace portico::config
