// Small readers for request parameters: cookies and query arguments.
#pragma once

#include <string_view>

namespace portico::http {

// The value of cookie `name` in a Cookie header (quotes removed), or empty.
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);
// The first value of query argument `name` (raw, not percent-decoded), or empty.
std::string_view query_value(std::string_view query, std::string_view name);

}  // namespace portico::http
