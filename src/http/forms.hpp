// Query strings and form-urlencoded bodies (ordered, decoded arguments) and multipart/form-data
// bodies, parsed and written back (request-transformer edits them, request-termination echoes them).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::http::forms {

// One argument of a query string or form body, percent-decoded.
struct Arg {
  std::string key, value;
  bool has_value = true;  // "?flag" has none (Kong's `true`)
};
// '+' reads as a space (HTML forms), as Kong reads queries and form bodies.
std::vector<Arg> parse_args(std::string_view encoded);
// Encoded back in order: RFC 3986's unreserved characters as they are, the rest %XX (space %20).
std::string encode_args(const std::vector<Arg>& args);

// Kong's operations on arguments; each returns whether it changed something.
bool remove_arg(std::vector<Arg>& args, std::string_view key);
bool rename_arg(std::vector<Arg>& args, std::string_view from, std::string_view to);
bool replace_arg(std::vector<Arg>& args, std::string_view key, std::string_view value);  // all copies become one
bool add_arg(std::vector<Arg>& args, std::string_view key, std::string_view value);      // only when absent
void append_arg(std::vector<Arg>& args, std::string_view key, std::string_view value);   // another copy

// A multipart/form-data body: its parts in order.
struct Part {
  std::string name;     // from Content-Disposition
  std::string headers;  // the part's header lines, each ending in CRLF
  std::string body;
};
struct Multipart {
  std::string boundary;
  std::vector<Part> parts;
};
// The boundary parameter of a multipart Content-Type, or nullopt.
std::optional<std::string> multipart_boundary(std::string_view content_type);
// Parses `body`; nullopt when it is not a well-formed multipart body with this boundary.
std::optional<Multipart> parse_multipart(std::string_view body, const std::string& boundary);
std::string write_multipart(const Multipart& m);
// A part holding `value` as a plain form field.
Part simple_part(std::string_view name, std::string_view value);

}  // namespace portico::http::forms
