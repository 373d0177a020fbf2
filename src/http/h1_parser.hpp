// Strict HTTP/1.1 message-head parser and framing policy (RFC 9110 / RFC 9112).
//
// Why not Boost.Beast's parser: Portico must reject, not repair, ambiguous input (obs-fold,
// bare CR/LF, whitespace before a colon, conflicting framing) and must not allocate per
// header on the hot path. This parser works in place on the connection buffer, returns
// string_views into it, and applies the gateway's policy in the same pass, so every
// request that is accepted has exactly one interpretation.
#pragma once

#include <cstddef>
#include <string_view>

#include "http/header_view.hpp"

namespace portico::http {

struct ParserLimits {
  std::size_t max_request_line = 8192;   // longer request line: 414
  std::size_t max_head_size = 32768;     // longer head: 431
  std::size_t max_header_count = 100;    // more fields: 431
};

enum class ParseState { complete, incomplete, error };

// Outcome of a parse attempt. On error, `status` is the HTTP status to answer with
// (400, 414, 431, 505, 417, or 502 for upstream responses) and `message` says why.
struct ParseOutcome {
  ParseState state = ParseState::incomplete;
  int status = 0;
  std::string_view message;

  static ParseOutcome complete() { return {ParseState::complete, 0, {}}; }
  static ParseOutcome incomplete() { return {ParseState::incomplete, 0, {}}; }
  static ParseOutcome error(int status, std::string_view message) {
    return {ParseState::error, status, message};
  }
};

// Parses one request head from the start of `buffer`. Leading empty lines are skipped
// (RFC 9112 2.2). On `complete`, `out` is filled and `out.head_size` bytes form the head.
// On `incomplete`, more bytes are needed (limits are already checked on what is there).
ParseOutcome parse_request_head(std::string_view buffer, const ParserLimits& limits,
                                RequestHead& out);

// Parses one response head. `request_method_is_head` decides framing (RFC 9112 6.3).
// Framing errors are reported with status 502: the upstream is at fault.
ParseOutcome parse_response_head(std::string_view buffer, const ParserLimits& limits,
                                 bool request_method_is_head, ResponseHead& out);

// A WebSocket opening handshake (RFC 6455 4.1): GET over HTTP/1.1 with "Connection: upgrade"
// and "Upgrade: websocket". The one upgrade the gateway performs (a tunnel after the 101); any
// other Upgrade is ignored (RFC 9110 7.8) and the request served as plain HTTP.
bool is_websocket_handshake(const RequestHead& head);

// Character classes, exposed for the chunked decoder and tests.
bool is_tchar(unsigned char c);
bool is_field_value_char(unsigned char c);  // VCHAR, obs-text, SP, HTAB

// Validates a Host header / authority: reg-name, IPv4 or [IPv6], optional :port.
bool is_valid_authority(std::string_view authority);

}  // namespace portico::http
