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
// JSON bodies must be one object (nesting bounded by kMaxDepth). multipart/form-data bodies
// carry the same keys as forms, one per part.
//
// Pure functions; fuzzed (tests/fuzz/admin_body_fuzz.cpp).
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "schema/record.hpp"

namespace portico::admin {

constexpr std::size_t kMaxDepth = 16;
constexpr std::size_t kMaxIndex = 10000;

Result<boost::json::value> read_form_body(std::string_view body);
Result<boost::json::value> read_json_body(std::string_view body);
// multipart/form-data (RFC 7578): each part's `name` is a form key as above, its content the
// value. `content_type` is the whole header (it carries the boundary).
Result<boost::json::value> read_multipart_body(std::string_view content_type, std::string_view body);

// A request body as JSON, by its Content-Type, and how its scalars are to be read (forms
// carry only strings). An unsupported type is a 415; a malformed body a 400.
struct RequestBody {
  Result<boost::json::value> value = boost::json::value(boost::json::object{});
  schema::Input input = schema::Input::typed;
  int status = 400;  // when !value.ok()
};
RequestBody read_request_body(std::string_view content_type, std::string_view body);

}  // namespace portico::admin
