// The aggregate plugin's configuration (issue 12), with the field names the issue fixes, read
// through the one schema layer and checked whole when the configuration is loaded: templates
// parsed and their sources known, depends_on without cycles, names unique, URLs only to the
// hosts written in the configuration.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plugin/config_schema.hpp"
#include "plugins/aggregate/shape.hpp"
#include "plugin/calls/template.hpp"

namespace portico::plugins::aggregate {

namespace calls = plugin::calls;
using calls::Reference;
using calls::Template;

struct BackendConfig {
  std::string name;     // this backend's key in the answer
  std::string url;      // "http://users.internal/users/{query.user_id}", or:
  std::string service;  // a service's name, with
  std::string path;     // "/orders?user_id={query.user_id}"
  std::string method = "GET";
  std::string body;     // a template, for POST / PUT / PATCH
  bool required = true;
  int timeout = -1;     // ms; null: the plugin's timeout
  std::vector<std::string> allow, deny;
  std::string select;   // a JSON pointer into the answer
  std::string reduce;   // "count" | "first" | null
  std::vector<std::pair<std::string, std::string>> rename;
  std::string group;    // nests this backend's part under that key
  std::vector<std::string> depends_on;
  std::vector<std::string> forward_headers;

  // Derived when read.
  Template target;  // url, or path (with service)
  std::optional<Template> body_template;
  std::vector<FieldPath> allow_paths, deny_paths;
  std::vector<std::pair<FieldPath, std::string>> renames;
  Reduce reduce_how = Reduce::none;
};

struct AggregateConfig : plugin::ParsedConfig {
  int timeout = 5000;  // ms, for the whole composed answer
  std::vector<BackendConfig> backends;
  std::string on_error = "omit";  // an optional backend that failed: left out, or null
  int max_backends = 16;
  int max_body_size = 1024 * 1024;  // bytes, each backend's answer
  std::vector<std::string> forward_headers;  // for every backend, beyond the identity headers

  // Derived: the backends in an order where each comes after those it depends on.
  std::vector<std::size_t> order;
};

const plugin::ConfigSchema& aggregate_config_schema();

}  // namespace portico::plugins::aggregate
