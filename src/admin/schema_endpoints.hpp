// Kong's schema endpoints, answered from the plugins' own declarations (schema/record.hpp):
//   GET /plugins/enabled          {"enabled_plugins":[...]}: the plugins this build has
//   GET /schemas/plugins/{name}   the plugin entity's fields, its `config` record described
//                                 field by field (type, default, bounds, one_of, ...)
//   GET /schemas/{entity}         an entity declared as a record (services, routes, consumers,
//                                 keyauth_credentials, basicauth_credentials, jwt_secrets,
//                                 acls), with its references as Kong's foreign fields
//   POST /schemas/{entity}/validate  whether a body is a valid entity (nothing stored)
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "plugin/plugin.hpp"
#include "schema/record.hpp"

namespace portico::admin {

std::string enabled_plugins_json();
std::string plugin_schema_json(const plugin::Schema& schema);

// The entity schemas: nullopt when `entity` is not declared as a record (yet).
std::optional<std::string> entity_schema_json(std::string_view entity);
// {status, body} of validating `body` (read with `input`) as `entity`; nullopt when unknown.
std::optional<std::pair<int, std::string>> validate_entity(std::string_view entity, const boost::json::value& body,
                                                           schema::Input input);

}  // namespace portico::admin
