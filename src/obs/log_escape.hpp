// Escaping of values in access log lines, as nginx's `log_format ... escape=`: `standard`
// writes '"', '\' and bytes outside printable ASCII as \xHH; `json` escapes what a JSON
// string must ('"', '\', control characters); `none` copies. Written for the request path:
// eight bytes are checked at a time and copied whole when none needs escaping.
#pragma once

#include <cstdint>
#include <string_view>

#include "obs/line_buffer.hpp"

namespace portico::obs {

enum class LogEscape : std::uint8_t { standard, json, none };

void append_escaped(LineBuffer& out, std::string_view value, LogEscape escape);

}  // namespace portico::obs
