// Introspection (issue 17): the `__schema` and `__type(name:)` root fields and the fields of
// the introspection types (__Schema, __Type, __Field, __InputValue, __EnumValue, __Directive),
// answered from the schema, as graphql-js answers them (so GraphiQL and code generators work).
//
// The executor treats introspection objects like any other object value: each is a small JSON
// descriptor ({"$": "type", "name": "User"}, {"$": "field", "type": "User", "name": "id"}...)
// whose fields are computed here on demand; the type graph is cyclic, so it is never built
// whole.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string_view>

#include "graphql/schema.hpp"

namespace portico::graphql {

// Whether `type` is one of the introspection types, whose fields resolve_introspection answers.
bool is_introspection_type(const Type& type);

// The value of `field` on an introspection object `source` of type `parent`.
boost::json::value resolve_introspection(const Schema& schema, const Type& parent, std::string_view field,
                                         const boost::json::value& source, const boost::json::object& arguments);

// The root fields: `__schema`, and `__type(name:)` (null for a name the schema does not hold).
boost::json::value schema_descriptor();
boost::json::value type_descriptor(const Schema& schema, std::string_view name);

}  // namespace portico::graphql
