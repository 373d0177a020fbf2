// The parts of one attempt at an upstream that the proxy and the gateway's own backend calls
// (plugin::BackendClient, the aggregate plugin's fan-out) share: how an attempt can end, the
// status each failure is answered with, a fresh connection under the upstream's limits,
// passive health reports, the retry rules and the backoff between retries.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "config/snapshot.hpp"
#include "net/tls_client.hpp"

namespace portico {
class Worker;
}

namespace portico::proxy {

struct UpstreamConnection;

// How one attempt at the upstream ended.
enum class Attempt {
  response,          // a response head was read
  answered,          // the client was answered (its own fault: body too large, malformed...)
  connect_error,     // refused, unreachable: nothing was sent
  connect_timeout,
  write_failed,      // the upstream broke off while the request was sent
  write_timeout,
  no_response,       // the upstream closed or reset before any response byte
  read_timeout,      // no response head within read_timeout
  invalid_response,  // malformed or ambiguous response head
  overflow,          // an upstream limit (max_connections, max_pending_requests) is reached
};

// The status a failed attempt is answered with: 504 when it timed out, 503 for a local limit, else 502.
int failure_status(Attempt failure);

inline bool is_idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
}

// A connection with TLS to an https service's endpoint: the service's context (null when its
// settings did not load: `load_error` says why, and connecting fails), the name sent as SNI and
// verified (the Host the upstream gets, without its port: nginx's proxy_ssl_name
// $upstream_host, as Kong configures it), and the pool key that keeps these connections apart
// from those of other server names and settings ("address|tls|name|context").
struct UpstreamTls {
  std::shared_ptr<const net::TlsClientContext> context;
  std::string_view load_error;
  std::string server_name;
  std::string pool_key;
};

// For an https service: its TLS settings toward `endpoint`, sent with Host `host_header`, made
// into `tls`, and &tls returned. For an http service: null (its pool key is the endpoint's).
const UpstreamTls* upstream_tls(const config::ServiceRuntime& service, const config::Endpoint& endpoint,
                                std::string_view host_header, UpstreamTls& tls);

// A new connection to `address` (pooled under `pool_key`) into `conn`, with TLS when `tls` is
// given (the handshake under the same `timeout`; a refused certificate, or a service whose TLS
// settings did not load, is a connect_error), under the upstream's max_connections and
// max_pending_requests (`upstream` may be null) and `timeout`. Nothing when connected; else
// the failure (overflow with `limit_message` set, connect_error, connect_timeout), counted
// and logged (rate-limited) naming the caller: `caller_kind` "service" or "host", `caller` its name.
boost::asio::awaitable<std::optional<Attempt>> connect_upstream(Worker& worker, const boost::asio::any_io_executor& executor,
                                                                const boost::asio::ip::tcp::endpoint& address,
                                                                const std::string& pool_key,
                                                                const config::UpstreamRuntime* upstream,
                                                                std::string_view caller_kind,
                                                                std::string_view caller,
                                                                std::chrono::milliseconds timeout,
                                                                const UpstreamTls* tls,
                                                                std::unique_ptr<UpstreamConnection>& conn,
                                                                std::string_view& limit_message);

// Passive health: what one attempt at `endpoint` says about it (no-op without an upstream
// or without passive checks).
void report_passive_health(const config::UpstreamRuntime* upstream, const config::Endpoint* endpoint, Attempt outcome,
                           int status);

// Whether a failed attempt may be repeated on another target under the service's rules:
// retries left, the request deadline (zero: none) not passed, the failure safe to repeat
// (`replayable`: an idempotent request whose body can be sent again), and the retry budget.
bool retry_allowed(Worker& worker, const config::ServiceRuntime& service, std::chrono::steady_clock::time_point deadline,
                   Attempt failure, int retries_done, bool replayable);

// Deposits one request into the service's retry budget (when it has retries and a budget).
void deposit_retry_budget(const config::ServiceRuntime& service);

// The wait before retry number `retry_number` (1-based): none for the first (it goes at once
// to another target), then full-jitter exponential backoff (base x 2^(n-2), capped), never
// past `deadline` (zero: none). `jitter` is the caller's xorshift state.
std::chrono::milliseconds backoff_delay(const config::ServiceConfig& service, int retry_number, std::uint64_t& jitter,
                                        std::chrono::steady_clock::time_point deadline);

}  // namespace portico::proxy
