// Reason phrases and Portico's own JSON error responses.
#pragma once

#include <string>
#include <string_view>

namespace portico::http {

std::string_view reason_phrase(int status);

// A complete HTTP/1.1 response that Portico answers itself, with a JSON body.
// `close` adds "Connection: close"; `extra_headers` are complete "Name: value\r\n" lines.
// With `head_only`, the body is left out (a HEAD request) but its Content-Length kept.
std::string json_response(int status, std::string_view json_body, bool close, std::string_view extra_headers = {},
                          bool head_only = false);

// The head of a stored response (a cache hit): the status line, the stored header lines,
// this request's own lines (`extra_lines`: Age, X-Cache-Status, a rate limit's headers),
// Content-Length for `body_size` (none for 204/304), and `Connection: <connection>` unless
// `connection` is empty ("close", or "keep-alive" for an HTTP/1.0 client that keeps it).
std::string stored_response_head(int status, std::string_view header_lines, std::string_view extra_lines,
                                 std::size_t body_size, std::string_view connection);

// json_response with Kong's error body {"message": "..."}.
std::string json_error_response(int status, std::string_view message, bool close,
                                std::string_view extra_headers = {});

// Escapes a string for inclusion inside JSON quotes.
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace portico::http
