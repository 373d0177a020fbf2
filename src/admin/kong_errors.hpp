// Kong's Admin API error bodies.
//   400 {"code":2,"name":"schema violation","message":"2 schema violations (a: ...; b.c: ...)",
//        "fields":{"a":"...","b":{"c":"..."},"key_names":[null,"..."]}}
// A field path ("config.key_names[1]") becomes nested objects and arrays (with nulls before
// the element); errors about a record itself go to its "@entity" list, as Kong's do.
#pragma once

#include <boost/json.hpp>
#include <string>

#include "schema/record.hpp"

namespace portico::admin {

boost::json::object schema_violation(const schema::Errors& errors);

}  // namespace portico::admin
