// Admin API request bodies into JSON, for the schema layer (schema/record.hpp).
//
// Form bodies (application/x-www-form-urlencoded) follow Kong's conventions:
//   name=svc                      {"name":"svc"}
//   config.minute=100             {"config":{"minute":"100"}}
//   paths[]=/a&paths[]=/b         {"paths":["/a","/b"]}
//   paths[1]=/a&paths[2]=/b       the same (Kong's indices start at 1)
//   tags=a&tags=b                 {"tags":["a","b"]} (a repeated key makes an array)
//   service.id=...                {"service":{"id":"..."}}
// An empty value is null, as in Kong (the field is unset: its default applies).
// Every other value is a string (read the result with schema::Input::text, which converts "100"
// and "true" as Kong does). Keys that contradict each other (`a=1&a.b=2`), malformed
// escapes, indices past kMaxIndex and nesting past kMaxDepth are errors naming the key.
//
// JSON bodies must be one object (nesting bounded by kMaxDepth).
//
// Pure functions; fuzzed (tests/fuzz/admin_body_fuzz.cpp).
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace portico::admin {

constexpr std::size_t kMaxDepth = 16;
constexpr std::size_t kMaxIndex = 10000;

Result<boost::json::value> read_form_body(std::string_view body);
Result<boost::json::value> read_json_body(std::string_view body);

}  // namespace portico::admin
