// Access log formats: nginx's `log_format` language (`$variable` / `${variable}` in literal
// text, `escape=default|json|none`), compiled once at start-up into a list of tokens, and the
// presets `combined` (nginx's), `portico` (combined + route, upstream and timings; the
// default) and `json` (one JSON object per line).
//
// A line is rendered from an AccessRecord, which the proxy fills from the request it served.
// Unknown variables are refused at start-up with their name, never logged as text.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/header_view.hpp"
#include "obs/line_buffer.hpp"
#include "obs/log_escape.hpp"

namespace portico::obs {

// One try of the upstream. nginx lists every try in $upstream_addr, $upstream_status and the
// $upstream_*_time variables, separated by ", ".
struct UpstreamTry {
  std::string_view address;    // "ip:port"
  int status = 0;              // the response's status, or Portico's 502/504 for a failed try
  double connect_time = -1;    // seconds; -1: no connection was made
  double header_time = -1;     // seconds from the start of the try to the response head
  double response_time = -1;   // seconds from the start of the try to the end of the response
  std::chrono::steady_clock::time_point start{};  // when the try began
};

// Everything a line may show. Views stay valid while the line is rendered.
struct AccessRecord {
  const http::RequestHead* request = nullptr;  // the request as received (views valid)
  std::string_view client_ip;
  std::string_view server_port;
  bool https = false;           // $scheme
  bool http2 = false;           // an HTTP/2 stream: $server_protocol is HTTP/2.0
  std::string_view uri;         // the normalised path ($uri)
  int status = 0;
  std::uint64_t bytes_sent = 0;       // head + body
  std::uint64_t body_bytes_sent = 0;
  double request_time = 0;            // seconds, from the first byte read to the log line
  std::string_view route, service, consumer, request_id;
  std::span<const UpstreamTry> tries;
  std::uint64_t connection_requests = 0;  // requests on this connection so far, this one included
};

class LogFormat {
 public:
  // `spec` is a preset's name or a format (with an optional `escape=...` prefix). Returns
  // nullptr and sets `error` (naming the offending variable) when it cannot be compiled.
  static std::shared_ptr<const LogFormat> compile(std::string_view spec, std::string& error);
  static constexpr std::string_view kDefault = "portico";

  // A line is made in two halves, so that the worker serving the request does the least:
  // capture() appends the values this format shows, raw (unescaped, numbers and times as
  // binary), as one record to `out`; render_captured() turns records written by capture()
  // into lines (escaping, numbers, times, literals), on the log writer's thread, many at a time.
  void capture(LineBuffer& out, const AccessRecord& record) const;
  // Appends the lines of `records` (one or more whole records from capture()); returns how many.
  std::size_t render_captured(LineBuffer& out, std::string_view records) const;
  // Both halves: appends one line (with its newline) to `out`.
  void render(LineBuffer& out, const AccessRecord& record) const;

 private:
  enum class Var : std::uint8_t;
  // 12 bytes: a line walks every token, and a compact list stays in few cache lines.
  struct Token {
    Var var;
    std::uint32_t offset, size;  // in literals_: a literal's text, or $http_*'s header name (lower case, '-')
  };
  static constexpr std::size_t kLiteralPadding = 32;
  struct Clock;  // per-thread cached time texts

  struct Reader;  // reads a captured record back
  void capture_value(LineBuffer& out, const Token& token, const AccessRecord& r) const;
  void render_value(LineBuffer& out, const Token& token, Reader& in, Clock& clock) const;
  void append_text(LineBuffer& out, std::string_view value) const;
  // A value made by the gateway that needs no escaping (an IP address and port, a hex id).
  void append_trusted(LineBuffer& out, std::string_view value) const;

  std::string_view text_of(const Token& token) const { return {literals_.data() + token.offset, token.size}; }

  std::vector<Token> tokens_;
  std::string literals_;  // literal texts and header names, one after the other, then kLiteralPadding zeros
  LogEscape escape_ = LogEscape::standard;
};

}  // namespace portico::obs
