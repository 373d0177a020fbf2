// Complete header lines as plugins and the cache keep them ("Name: value\r\n" ...).
#pragma once

#include <string_view>

#include "http/header_view.hpp"

namespace portico::http {

// Calls fn(name, value, line) for each line that has a colon: `value` without its surrounding
// whitespace, `line` the whole line with its CRLF (to copy it as it is). A last line without
// CRLF counts too.
template <typename Fn>
void for_each_header_line(std::string_view lines, Fn fn) {
  while (!lines.empty()) {
    std::size_t end = lines.find("\r\n");
    std::string_view line = lines.substr(0, end == std::string_view::npos ? lines.size() : end + 2);
    lines.remove_prefix(line.size());
    std::string_view text = line.substr(0, end == std::string_view::npos ? line.size() : line.size() - 2);
    std::size_t colon = text.find(':');
    if (colon != std::string_view::npos) fn(text.substr(0, colon), trim_ows(text.substr(colon + 1)), line);
  }
}

}  // namespace portico::http
