// Kong's schema endpoints, answered from the plugins' own declarations (schema/record.hpp):
//   GET /plugins/enabled          {"enabled_plugins":[...]}: the plugins this build has
//   GET /schemas/plugins/{name}   the plugin entity's fields, its `config` record described
//                                 field by field (type, default, bounds, one_of, ...)
#pragma once

#include <string>

#include "plugin/plugin.hpp"

namespace portico::admin {

std::string enabled_plugins_json();
std::string plugin_schema_json(const plugin::Schema& schema);

}  // namespace portico::admin
