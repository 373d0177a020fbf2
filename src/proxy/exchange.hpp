// Per-request state shared by the connection loop (downstream_connection.cpp) and the
// proxying steps (proxy_request.cpp). Lives in the handle_request coroutine frame.
#pragma once

#include <algorithm>
#include <array>
#include <utility>
#include <atomic>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/snapshot.hpp"
#include "http/h1_parser.hpp"
#include "obs/log_format.hpp"
#include "plugin/chain.hpp"
#include "plugin/request_context.hpp"
#include "proxy/concurrent_body.hpp"
#include "proxy/counter_hold.hpp"
#include "proxy/downstream_connection.hpp"
#include "proxy/io.hpp"
#include "proxy/upstream_attempt.hpp"
#include "router/router.hpp"

namespace portico::proxy {

using Clock = std::chrono::steady_clock;

inline constexpr std::string_view kUpstreamInvalid = "An invalid response was received from the upstream server";
inline constexpr std::string_view kUpstreamTimeout = "The upstream server is timing out";
inline constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";
inline constexpr std::string_view kNoPeer = "failure to get a peer from the ring-balancer";

inline std::uint64_t millis_between(Clock::time_point a, Clock::time_point b) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
  return d < 0 ? 0 : static_cast<std::uint64_t>(d);
}

inline double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct DownstreamConnection::Exchange {
  Clock::time_point started = Clock::now();
  Clock::time_point upstream_sent{};
  Clock::time_point upstream_first_byte{};
  Clock::time_point deadline{};  // the service's request_timeout, if any
  ReadBudget body_budget;        // the request body's minimum rate (--client-body-min-rate)
  std::shared_ptr<const config::Snapshot> snapshot;
  router::MatchResult match;
  std::string normalized_path;
  std::string_view path;
  std::string_view upstream_target;
  const config::ServiceRuntime* service = nullptr;
  const config::Endpoint* endpoint = nullptr;
  http::ResponseHead* response = nullptr;
  int status = 0;
  int upstream_status = 0;
  std::uint64_t bytes_sent = 0;       // head + body
  std::uint64_t body_bytes_sent = 0;
  std::uint64_t request_body_bytes = 0;  // sent upstream (the last attempt's)
  bool from_service = false;             // the answer relayed is the service's
  bool compressing = false;              // its body is encoded on the way (compression plugin)
  bool transforming = false;             // its body is rewritten on the way (a plugin's response_transform)
  char request_id[32];                // random hex, drawn when the request starts
  // The request head's bytes, when streaming the body would reuse the buffer its views point
  // into and the log (or a plugin's log phase) still needs them: request_ is parsed from here.
  std::string saved_head;
  // The current upstream try, for the log's $upstream_* (earlier tries are kept as log entries).
  Clock::time_point try_started{}, try_connected{};
  int try_status = 0;  // the response's status, or the 502/504 a failed try stands for
  std::vector<obs::UpstreamTry> earlier_tries;
  int error_status = 0;
  std::string_view error_message;

  // Balancing and retries.
  std::uint64_t hash = 0;                // consistent-hashing key
  std::string set_cookie;                // "Set-Cookie: ...\r\n" for hash_on cookie, when minted
  std::array<std::uint32_t, 16> tried{};  // endpoints already tried by this request
  std::size_t tried_count = 0;
  bool body_consumed = false;  // request body bytes were taken from the client: no replay
  // A gRPC call to a service with grpc_retry_on: its body (complete when the call started)
  // read into memory, so that an attempt can be repeated.
  std::string replay_body;
  bool body_buffered = false;
  // A gRPC request body still being sent while the answer is relayed (joined by handle_request).
  std::unique_ptr<ConcurrentBody> concurrent_body;
  bool attempt_reused = false;  // the last attempt used a pooled connection
  // An https service: the current try's TLS settings (`tls` points at them; null for http).
  UpstreamTls upstream_tls;
  const UpstreamTls* tls = nullptr;
  // Where the current try's connections are pooled.
  const std::string& pool_key() const { return tls != nullptr ? tls->pool_key : endpoint->pool_key; }
  Next answer = Next::close;    // how the connection goes on after Attempt::answered
  CounterHold in_flight;        // on ex.endpoint (least-connections, latency)
  // The route's plugin context (null when the route has no plugins). Kept here rather
  // than in proxy_request's coroutine frame: the request-path frames must stay small
  // (see docs/architecture.md "Memory").
  plugin::ContextPool::Lease plugins;
  // Held for the whole request.
  CounterHold upstream_request;  // the upstream's max_requests count

  // `timeout_ms`, capped by the time left before the request deadline (if any).
  std::chrono::milliseconds within_deadline(int timeout_ms) const {
    std::chrono::milliseconds t(timeout_ms);
    if (deadline == Clock::time_point{}) return t;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return std::min(t, std::max(left, std::chrono::milliseconds(1)));
  }
  // The upstream outcome, for plugins' log phase (e.g. the circuit breaker).
  void note_upstream(int status, bool timed_out = false, bool connection_error = false) {
    if (!plugins) return;
    using Kind = plugin::UpstreamVerdict::Kind;
    plugins->verdict = {timed_out || connection_error || status == 0 ? Kind::failure : Kind::response, status,
                        timed_out, connection_error};
  }
  // Portico shed the request itself (an upstream limit): no verdict on the service.
  void note_shed() {
    if (plugins) plugins->verdict.kind = plugin::UpstreamVerdict::Kind::shed;
  }
  // The current try as the log shows it; `end` is when it ended (the next try's start, or now).
  obs::UpstreamTry current_try(Clock::time_point end) const {
    obs::UpstreamTry t;
    if (endpoint == nullptr || try_started == Clock::time_point{}) return t;
    t.address = endpoint->pool_key;
    t.status = try_status;
    t.start = try_started;
    if (try_connected != Clock::time_point{}) t.connect_time = seconds_between(try_started, try_connected);
    if (upstream_first_byte >= try_started) t.header_time = seconds_between(try_started, upstream_first_byte);
    t.response_time = seconds_between(try_started, end);
    return t;
  }
  // A new try begins: the one before it becomes a log entry.
  void begin_try() {
    auto now = Clock::now();
    if (try_started != Clock::time_point{}) earlier_tries.push_back(current_try(now));
    try_started = now;
    try_connected = {};
    try_status = 0;
  }
  std::span<const std::uint32_t> tried_span() const { return {tried.data(), tried_count}; }
  void remember_tried(std::uint32_t index) {
    if (tried_count < tried.size()) tried[tried_count++] = index;
  }
};

}  // namespace portico::proxy
