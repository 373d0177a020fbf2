// RFC 6901 JSON pointers ("/data/items/0"), for the parts of services' answers a
// configuration selects (the aggregate plugin's and the graphql plugin's `select`).
#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <string_view>

namespace portico::plugin::calls {

// The value at `pointer` ("" is the whole value), or nullopt when there is none.
std::optional<boost::json::value> select(const boost::json::value& v, std::string_view pointer);
// The same without a copy: where it is inside `v`, or nullptr.
const boost::json::value* find_pointer(const boost::json::value& v, std::string_view pointer);
// Whether `pointer` is a well-formed JSON pointer ("" or "/..." with valid ~ escapes).
bool valid_pointer(std::string_view pointer);

}  // namespace portico::plugin::calls
