// Reason phrases and Portico's own JSON error responses.
#pragma once

#include <string>
#include <string_view>

namespace portico::http {

std::string_view reason_phrase(int status);

// A complete HTTP/1.1 response with a JSON body {"message": "..."} (Kong's shape).
// `close` adds "Connection: close".
std::string json_error_response(int status, std::string_view message, bool close);

// Escapes a string for inclusion inside JSON quotes.
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace portico::http
