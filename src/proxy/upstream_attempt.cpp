#include "proxy/upstream_attempt.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <spdlog/spdlog.h>

#include "core/worker.hpp"
#include "http/header_view.hpp"
#include "proxy/io.hpp"
#include "proxy/upstream_pool.hpp"

namespace portico::proxy {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {
// The retry budget's clock: whole seconds of the steady clock.
std::int64_t budget_seconds(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
}  // namespace

int failure_status(Attempt failure) {
  switch (failure) {
    case Attempt::connect_timeout:
    case Attempt::read_timeout:
    case Attempt::write_timeout: return 504;
    case Attempt::overflow: return 503;
    default: return 502;
  }
}

const UpstreamTls* upstream_tls(const config::ServiceRuntime& service, const config::Endpoint& endpoint,
                                std::string_view host_header, UpstreamTls& tls) {
  if (!service.config->uses_tls()) return nullptr;
  std::string_view name = http::host_without_port(host_header);
  if (name.size() > 1 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);  // [v6]
  tls.context = service.tls;
  tls.load_error = service.tls_error;
  tls.server_name.assign(name);
  tls.pool_key = endpoint.pool_key + "|tls|" + tls.server_name + "|" +
                 std::to_string(reinterpret_cast<std::uintptr_t>(tls.context.get()));
  return &tls;
}

namespace {
// The TLS handshake with the upstream on a connected socket, under the armed deadline.
asio::awaitable<boost::system::error_code> upstream_handshake(UpstreamConnection& conn) {
  for (;;) {
    boost::system::error_code ec;
    net::TlsStream::Want want = conn.tls->handshake(ec);
    if (!ec) co_return ec;
    if (ec != asio::error::would_block) co_return ec;
    auto wec = co_await wait_for_tls(conn.socket, want);
    if (conn.deadline.expired()) co_return asio::error::timed_out;
    if (wec) co_return wec;
  }
}
}  // namespace

asio::awaitable<std::optional<Attempt>> connect_upstream(Worker& worker, const asio::any_io_executor& executor,
                                                         const asio::ip::tcp::endpoint& address,
                                                         const std::string& pool_key,
                                                         const config::UpstreamRuntime* upstream,
                                                         std::string_view caller_kind, std::string_view caller,
                                                         std::chrono::milliseconds timeout, const UpstreamTls* tls,
                                                         std::unique_ptr<UpstreamConnection>& conn,
                                                         std::string_view& limit_message) {
  if (tls != nullptr && !tls->context) {  // its TLS settings did not load (logged with the reload)
    if (worker.log_limiter().allow()) {
      spdlog::warn("connect to {} for {} '{}' failed: no upstream TLS context: {} ({} similar lines suppressed)",
                   pool_key, caller_kind, caller, tls->load_error, worker.log_limiter().take_suppressed());
    }
    co_return Attempt::connect_error;
  }
  CounterHold pending;
  if (upstream != nullptr) {
    const auto& limits = *upstream->config;
    auto& state = *upstream->state;
    if (limits.max_connections > 0 && state.connections.load(std::memory_order_relaxed) >= limits.max_connections) {
      limit_message = "upstream is over its max_connections limit";
      worker.stats().upstream_overflows.add();
      co_return Attempt::overflow;
    }
    if (limits.max_pending_requests > 0) {
      if (state.pending.load(std::memory_order_relaxed) >= limits.max_pending_requests) {
        limit_message = "upstream is over its max_pending_requests limit";
        worker.stats().upstream_overflows.add();
        co_return Attempt::overflow;
      }
      pending.hold(state.pending);
    }
  }
  conn = std::make_unique<UpstreamConnection>(executor, &worker.buffers(), worker.deadlines());
  conn->pool_key = pool_key;
  conn->deadline.arm(timeout);
  auto [ec] = co_await conn->socket.async_connect(address, use_tuple);
  if (conn->deadline.expired()) ec = asio::error::timed_out;
  bool tls_failed = false;
  if (!ec) {
    boost::system::error_code ignored;
    conn->socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    conn->socket.non_blocking(true, ignored);  // write_all() tries a direct write first
  }
  if (!ec && tls != nullptr) {
    conn->tls = std::make_unique<net::TlsStream>(tls->context, conn->socket.native_handle(), tls->server_name, pool_key);
    ec = co_await upstream_handshake(*conn);
    tls_failed = ec && ec != asio::error::timed_out;
  }
  conn->deadline.disarm();
  if (!ec) {
    if (upstream != nullptr && upstream->config->max_connections > 0) conn->counted.hold(upstream->state->connections);
    worker.stats().upstream_connects.add();
    co_return std::nullopt;
  }
  std::string why = ec == asio::error::timed_out ? "timed out" : ec.message();
  if (tls_failed) why = "TLS handshake: " + (conn->tls->failure().empty() ? ec.message() : conn->tls->failure());
  conn.reset();
  worker.stats().upstream_connect_failures.add();
  if (worker.log_limiter().allow()) {
    spdlog::warn("connect to {} for {} '{}' failed: {} ({} similar lines suppressed)", pool_key, caller_kind, caller,
                 why, worker.log_limiter().take_suppressed());
  }
  co_return ec == asio::error::timed_out ? Attempt::connect_timeout : Attempt::connect_error;
}

void report_passive_health(const config::UpstreamRuntime* upstream, const config::Endpoint* endpoint, Attempt outcome,
                           int status) {
  if (upstream == nullptr || endpoint == nullptr) return;
  const auto& passive = upstream->config->healthchecks.passive;
  if (!passive.enabled() && passive.healthy.successes == 0) return;
  HealthEvent event = HealthEvent::success;
  switch (outcome) {
    case Attempt::response: {
      StatusVerdict v = classify_status(status, passive.healthy, passive.unhealthy);
      if (v == StatusVerdict::neutral) return;
      event = v == StatusVerdict::failure ? HealthEvent::http_failure : HealthEvent::success;
      break;
    }
    case Attempt::connect_error:
    case Attempt::write_failed:
    case Attempt::no_response:
    case Attempt::invalid_response: event = HealthEvent::tcp_failure; break;
    case Attempt::connect_timeout:
    case Attempt::write_timeout:
    case Attempt::read_timeout: event = HealthEvent::timeout; break;
    case Attempt::answered:
    case Attempt::overflow: return;
  }
  if (endpoint->health->report(event, passive.healthy, passive.unhealthy)) {
    bool healthy = endpoint->health->healthy();
    spdlog::warn("upstream '{}' target {} ({}) marked {} by passive health checks", upstream->config->name,
                 endpoint->target, endpoint->pool_key, healthy ? "healthy" : "unhealthy");
  }
}

bool retry_allowed(Worker& worker, const config::ServiceRuntime& service, Clock::time_point deadline, Attempt failure,
                   int retries_done, bool replayable) {
  const auto& svc = *service.config;
  if (retries_done >= svc.retries) return false;
  // A retry needs time to run: with less than a millisecond left it could only send the
  // request again and give up.
  if (deadline != Clock::time_point{} && Clock::now() + std::chrono::milliseconds(1) >= deadline) return false;
  switch (failure) {
    case Attempt::connect_error:
    case Attempt::connect_timeout:
    case Attempt::overflow:
      break;  // nothing reached the upstream: always safe
    case Attempt::write_failed:
    case Attempt::write_timeout:
    case Attempt::no_response:
    case Attempt::read_timeout:
    case Attempt::response:
      // The upstream may have acted on the request: only a request that can be sent again
      // (idempotent, its body not consumed) is.
      if (!replayable) return false;
      break;
    case Attempt::invalid_response:
    case Attempt::answered:
      return false;
  }
  // The retry budget (opt-in) bounds the extra work retries put on the service. A failure
  // that never reached it (connection refused or timed out, a local limit) cost it nothing,
  // so retrying it is not budgeted: a dead target never makes the budget refuse a request.
  bool reached_upstream = failure != Attempt::connect_error && failure != Attempt::connect_timeout &&
                          failure != Attempt::overflow;
  if (reached_upstream && service.retry_budget && !service.retry_budget->try_withdraw(budget_seconds(Clock::now()))) {
    worker.stats().retry_budget_exhausted.add();
    return false;
  }
  return true;
}

void deposit_retry_budget(const config::ServiceRuntime& service) {
  if (service.config->retries > 0 && service.retry_budget) service.retry_budget->deposit(budget_seconds(Clock::now()));
}

std::chrono::milliseconds backoff_delay(const config::ServiceConfig& svc, int retry_number, std::uint64_t& jitter,
                                        Clock::time_point deadline) {
  if (retry_number < 2 || svc.retry_backoff_base_ms <= 0) return std::chrono::milliseconds(0);
  long long cap = svc.retry_backoff_base_ms;
  for (int i = 2; i < retry_number && cap < svc.retry_backoff_max_ms; ++i) cap *= 2;
  cap = std::min<long long>(cap, svc.retry_backoff_max_ms);
  jitter ^= jitter >> 12;
  jitter ^= jitter << 25;
  jitter ^= jitter >> 27;
  auto wait = std::chrono::milliseconds(static_cast<long long>((jitter * 0x2545F4914F6CDD1Dull) % (cap + 1)));
  if (deadline != Clock::time_point{}) {
    wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
  }
  return std::max(wait, std::chrono::milliseconds(0));
}

}  // namespace portico::proxy
