// Calls the gateway makes itself on a plugin's behalf (the aggregate plugin's fan-out, later
// GraphQL resolvers): one HTTP/1.1 request to a configured service or to a fixed address,
// the answer read whole into memory. Supplied by the proxy for the request being served
// (RequestContext::backend_client()), from a plugin's access_async; many calls may run at
// once on the worker's loop.
//
// A service's calls go through its balancer (with this worker's balancer state), its
// retries (connection failures always; other failures for idempotent methods; its
// retry_on_statuses), its connect/write/read timeouts, the upstream's limits and passive
// health checks, and the service's own upstream guards (plugins whose Schema says
// guards_upstream, e.g. its circuit breaker). Connections come from and go back to the
// worker's keep-alive pool, as the proxy's do.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace portico::plugin {

class RequestContext;

// A fixed destination (a URL's host written in the configuration): its resolved addresses,
// tried in turn (the next one after a connection failure), and the Host header to send.
struct FixedDestination {
  struct Address {
    boost::asio::ip::tcp::endpoint address;
    std::string pool_key;  // "ip:port": shares the worker's keep-alive pool with the proxy
  };
  std::vector<Address> addresses;
  std::string host_header;         // "users.internal" or "users.internal:8080"
  std::string resolve_error;       // set when the name had no address at snapshot build
  mutable std::atomic<std::uint32_t> next{0};  // rotation over the addresses, shared by workers
};

struct BackendRequest {
  // Where: a service (index into the configuration's services) or a fixed destination.
  static constexpr std::size_t kNoService = static_cast<std::size_t>(-1);
  std::size_t service = kNoService;
  const FixedDestination* fixed = nullptr;
  std::string_view method = "GET";
  std::string_view target;        // origin-form: "/orders?user_id=7"
  std::string_view header_lines;  // complete "Name: value\r\n" lines (identity, forwarded headers)
  std::string_view body;          // sent with Content-Length when non-empty or the method is POST/PUT/PATCH
  std::string_view content_type;  // the body's, when it has one
  std::chrono::steady_clock::time_point deadline;  // the whole call, retries included
  std::size_t max_body = 1 << 20;  // a larger answer fails the call (too_large)
};

struct BackendResult {
  enum class Outcome {
    response,   // `status` and `body` hold the answer (any status)
    timed_out,  // the deadline passed (connect, write or read)
    failed,     // no usable answer: refused, reset, malformed, no target, a guard's refusal
    too_large,  // the answer's body was larger than max_body
  };
  Outcome outcome = Outcome::failed;
  int status = 0;
  std::string content_type;
  std::string body;
  std::string error;  // for timed_out / failed / too_large: what happened, for the client's message
  bool ok() const { return outcome == Outcome::response; }
};

class BackendClient {
 public:
  // Never throws; every failure is a result. `parent` is the request the call is made for
  // (its client address and head are what a service's guards see; its call tracer, if any,
  // gets the call as a span and puts the trace's headers on it).
  virtual boost::asio::awaitable<BackendResult> call(RequestContext& parent, const BackendRequest& request) = 0;

 protected:
  ~BackendClient() = default;
};

}  // namespace portico::plugin
