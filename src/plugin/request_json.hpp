// A request's parts as Kong's plugin kit hands them to Lua, written as JSON: the header table
// (kong.request.get_headers()) and argument tables (kong.request.get_query(), a form body's
// kong.request.get_body()). The log serializer (file-log, http-log) and request-termination's
// echo write them the same way.
#pragma once

#include <boost/json/object.hpp>

#include <string_view>

#include "http/header_view.hpp"

namespace portico::plugin {

// Adds `value` under `key`: a key seen before holds an array of its values, in order (the rule
// of every table below and of a multipart body's fields).
void add_to_table(boost::json::object& table, std::string_view key, boost::json::value value);

// Lower-case names; a repeated field is an array of its values, in order.
boost::json::object headers_json(const http::MessageHead& head);

// Percent-decoded arguments of a query string or form-urlencoded body: a flag without a value
// is `true`, a repeated argument an array of its values.
boost::json::object args_json(std::string_view encoded);

}  // namespace portico::plugin
