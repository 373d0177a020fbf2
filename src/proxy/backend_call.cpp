#include "proxy/backend_call.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "core/worker.hpp"
#include "http/h1_parser.hpp"
#include "plugin/chain.hpp"
#include "plugin/request_context.hpp"
#include "proxy/body_pump.hpp"
#include "proxy/counter_hold.hpp"
#include "proxy/io.hpp"
#include "proxy/upstream_attempt.hpp"
#include "proxy/upstream_pool.hpp"

namespace portico::proxy {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using plugin::BackendRequest;
using plugin::BackendResult;
using Outcome = BackendResult::Outcome;

namespace {

constexpr std::string_view kNoPeerMessage = "failure to get a peer from the ring-balancer";

// `timeout_ms` (0 or less: none) capped by the time left before `deadline` (at least 1 ms),
// rounded up: a timeout that fires a fraction of a millisecond before the deadline would let
// a retry start with nothing left to run in (and send the request again for nothing).
std::chrono::milliseconds within(Clock::time_point deadline, int timeout_ms) {
  auto left = std::max(std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()), std::chrono::milliseconds(1));
  return timeout_ms > 0 ? std::min(std::chrono::milliseconds(timeout_ms), left) : left;
}

// Where one attempt goes.
struct Destination {
  const asio::ip::tcp::endpoint* address;
  const std::string* pool_key;
  std::string_view host_header;
  const config::UpstreamRuntime* upstream;  // limits; null for a fixed destination
  const UpstreamTls* tls;                   // an https service's; null for plain HTTP
  std::string_view kind;                    // for logs: "service" or "host"
  std::string_view name;                    // the service's name or the host
};

struct Timeouts {
  std::chrono::milliseconds connect, write, read;
};

std::string request_head(const BackendRequest& req, std::string_view host) {
  std::string head;
  head.reserve(128 + req.target.size() + req.header_lines.size());
  head.append(req.method).append(" ").append(req.target).append(" HTTP/1.1\r\nHost: ").append(host).append("\r\n");
  head.append(req.header_lines);
  bool with_body = !req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  if (with_body) head.append("Content-Length: ").append(std::to_string(req.body.size())).append("\r\n");
  if (!req.body.empty() && !req.content_type.empty()) {
    head.append("Content-Type: ").append(req.content_type).append("\r\n");
  }
  head.append("\r\n");
  return head;
}

// One attempt: a pooled or new connection, the request, the response head and body into
// `out` (status, content type, body). The connection goes back to the pool when the
// exchange ended cleanly.
asio::awaitable<Attempt> attempt_once(Worker& worker, const Destination& to, const BackendRequest& req,
                                      const std::string& head, Timeouts t, bool fresh, bool& reused,
                                      BackendResult& out) {
  auto executor = co_await asio::this_coro::executor;
  std::unique_ptr<UpstreamConnection> conn;
  bool replayable = is_idempotent(req.method);
  if (!fresh) conn = worker.upstream_pool().take(*to.pool_key, !replayable);
  reused = conn != nullptr;
  if (reused) worker.stats().upstream_reused.add();
  if (!conn) {
    std::string_view limit;
    auto failed = co_await connect_upstream(worker, executor, *to.address, *to.pool_key, to.upstream, to.kind, to.name,
                                            t.connect, to.tls, conn, limit);
    if (failed) {
      out.error = limit.empty() ? std::string() : std::string(limit);
      co_return *failed;
    }
  }
  conn->buffer.acquire();
  Side side = conn->side(t.read, t.write);
  std::array<asio::const_buffer, 2> parts{asio::buffer(head.data(), head.size()),
                                          asio::buffer(req.body.data(), req.body.size())};
  if (auto ec = co_await write_all(side, parts)) {
    co_return ec == asio::error::timed_out ? Attempt::write_timeout : Attempt::write_failed;
  }
  http::ResponseHead resp;
  bool is_head = req.method == "HEAD";
  bool first_read = true;
  for (;;) {
    auto parsed = http::parse_response_head(conn->buffer.readable(), worker.options().limits, is_head, resp);
    if (parsed.state == http::ParseState::complete) {
      if (resp.status >= 100 && resp.status < 200 && resp.status != 101) {
        conn->buffer.consume(resp.head_size);
        continue;
      }
      if (resp.status == 101) {
        out.error = "switched protocols";
        co_return Attempt::invalid_response;
      }
      break;
    }
    if (parsed.state == http::ParseState::error) {
      out.error = "sent an invalid response: " + std::string(parsed.message);
      co_return Attempt::invalid_response;
    }
    bool nothing_received = conn->buffer.empty();
    boost::system::error_code ec;
    if (nothing_received && first_read) {
      // The request has only just been sent: let the other ready work (the sibling calls of a
      // fan-out sending theirs) run first, so a direct read usually finds the answer instead
      // of costing a failed recv() and an epoll round trip (as the proxy does).
      first_read = false;
      co_await asio::post(executor, asio::use_awaitable);
      if (read_now(side, ec)) continue;
      if (ec == asio::error::would_block) ec = {};
    }
    if (!ec) ec = co_await read_more(side);
    if (!ec) continue;
    if (ec == asio::error::timed_out) co_return Attempt::read_timeout;
    co_return nothing_received ? Attempt::no_response : Attempt::invalid_response;
  }
  out.status = resp.status;
  out.content_type = std::string(resp.find("content-type"));
  PumpSpec spec;
  spec.framing = resp.framing;
  spec.content_length = resp.content_length;
  spec.max_body = req.max_body;
  bool keep_alive = resp.keep_alive && resp.framing != http::BodyFraming::until_close;
  conn->buffer.consume(resp.head_size);  // the head's views are not used past here
  out.body.clear();
  PumpResult got = co_await collect_body(side, spec, out.body);
  switch (got.failure) {
    case PumpFailure::none: break;
    case PumpFailure::too_large:
      out.outcome = Outcome::too_large;
      out.error = "answered with a body larger than " + std::to_string(req.max_body) + " bytes";
      co_return Attempt::response;
    case PumpFailure::source_timeout: co_return Attempt::read_timeout;
    default:
      out.error = "broke off the response body";
      co_return Attempt::invalid_response;
  }
  out.outcome = Outcome::response;
  if (keep_alive && conn->buffer.empty()) {
    ++conn->requests;
    conn->reused = false;
    worker.upstream_pool().give(std::move(conn));
  }
  co_return Attempt::response;
}

// The result for an attempt that got no usable answer.
BackendResult failure_result(Attempt failure, std::string detail) {
  BackendResult r;
  switch (failure) {
    case Attempt::connect_timeout: r.outcome = Outcome::timed_out, r.error = "timed out connecting"; break;
    case Attempt::write_timeout: r.outcome = Outcome::timed_out, r.error = "timed out sending the request"; break;
    case Attempt::read_timeout: r.outcome = Outcome::timed_out, r.error = "timed out"; break;
    case Attempt::connect_error: r.outcome = Outcome::failed, r.error = "connection failed"; break;
    case Attempt::write_failed:
    case Attempt::no_response: r.outcome = Outcome::failed, r.error = "closed the connection without answering"; break;
    default: r.outcome = Outcome::failed, r.error = "sent an invalid response"; break;
  }
  if (!detail.empty()) r.error = std::move(detail);
  return r;
}

// A fixed destination: its addresses in turn, from a rotating start; the next address only
// after a failure that sent nothing (a connection failure).
asio::awaitable<BackendResult> call_fixed(Worker& worker, const BackendRequest& req) {
  const plugin::FixedDestination& fixed = *req.fixed;
  if (fixed.addresses.empty()) {
    co_return failure_result(Attempt::connect_error,
                             fixed.resolve_error.empty() ? "has no address" : fixed.resolve_error);
  }
  std::string head = request_head(req, fixed.host_header);
  std::size_t start = fixed.next.fetch_add(1, std::memory_order_relaxed);
  Attempt last = Attempt::connect_error;
  BackendResult out;
  bool fresh = false;
  for (std::size_t i = 0; i < fixed.addresses.size();) {
    const auto& a = fixed.addresses[(start + i) % fixed.addresses.size()];
    Destination to{&a.address, &a.pool_key, fixed.host_header, nullptr, nullptr, "host", fixed.host_header};
    auto left = within(req.deadline, 0);
    bool reused = false;
    out = {};
    last = co_await attempt_once(worker, to, req, head, {left, left, left}, fresh, reused, out);
    if (last == Attempt::response) co_return out;
    asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return failure_result(Attempt::invalid_response, "cancelled");
    // A pooled connection the peer had closed: once more on a fresh one, same address.
    if (reused && is_idempotent(req.method) && (last == Attempt::no_response || last == Attempt::write_failed)) {
      fresh = true;
      continue;
    }
    fresh = false;
    if (last != Attempt::connect_error || Clock::now() >= req.deadline) break;
    ++i;
  }
  co_return failure_result(last, out.error);
}

// The service's guards (its circuit breaker) around a call: admission first, the outcome after.
class Guards {
 public:
  Guards(Worker& worker, const plugin::Chains& chains, const plugin::RequestContext& parent,
         const config::ServiceConfig& service) {
    if (chains.empty()) return;
    ctx_ = worker.plugin_contexts().take();
    ctx_->begin(parent.request(), parent.client_ip(), parent.path(), nullptr, &service, &chains);
  }
  // A call cut short (cancelled) ends without an outcome: the guards are told so (a half-open
  // breaker gets its probe slot back) rather than left waiting for one.
  ~Guards() {
    if (!ctx_ || finished_) return;
    ctx_->verdict.kind = plugin::UpstreamVerdict::Kind::shed;
    plugin::run_log(*ctx_);
  }
  Guards(const Guards&) = delete;
  Guards& operator=(const Guards&) = delete;
  // Runs the guards' access phase: false when one refused (refusal() says how).
  asio::awaitable<bool> admit() {
    if (!ctx_) co_return true;
    plugin::Access access = plugin::run_access(*ctx_);
    if (access == plugin::Access::suspend) access = co_await plugin::finish_access(*ctx_);
    co_return access != plugin::Access::replied;
  }
  // "circuit-breaker answered 503: circuit breaker is open".
  std::string refusal() const {
    std::string message(ctx_->reply_body());
    boost::system::error_code ec;
    auto body = boost::json::parse(message, ec);
    if (!ec && body.is_object() && body.get_object().if_contains("message") != nullptr &&
        body.get_object().at("message").is_string()) {
      message = std::string(body.get_object().at("message").get_string());
    }
    const plugin::Chain& chain = *ctx_->active_chain;
    std::string_view who = ctx_->access_index < chain.entries.size() ? chain.entries[ctx_->access_index].schema->name
                                                                     : std::string_view("a guard");
    return "the service's " + std::string(who) + " answered " + std::to_string(ctx_->reply_status()) + ": " + message;
  }
  void finish(const BackendResult& r, Attempt last) {
    if (!ctx_) return;
    finished_ = true;
    using Kind = plugin::UpstreamVerdict::Kind;
    bool timed_out = r.outcome == Outcome::timed_out;
    bool connection_error = last == Attempt::connect_error || last == Attempt::no_response ||
                            last == Attempt::write_failed;
    if (last == Attempt::overflow) ctx_->verdict.kind = Kind::shed;
    else if (r.outcome == Outcome::response) ctx_->verdict = {Kind::response, r.status, false, false};
    else ctx_->verdict = {Kind::failure, failure_status(last), timed_out, connection_error};
    plugin::run_log(*ctx_);
  }

 private:
  plugin::ContextPool::Lease ctx_{nullptr, {nullptr}};
  bool finished_ = false;
};

asio::awaitable<BackendResult> call_service(Worker& worker, const config::Snapshot& snapshot,
                                            const plugin::RequestContext& parent, const BackendRequest& req) {
  const config::ServiceRuntime& service = snapshot.services[req.service];
  const config::ServiceConfig& svc = *service.config;
  const Balancer& balancer = *snapshot.balancers[service.balancer_index];
  if (balancer.endpoints().empty()) {
    co_return failure_result(Attempt::connect_error, service.resolve_error.empty() ? std::string(kNoPeerMessage)
                                                                                  : service.resolve_error);
  }
  Guards guards(worker, snapshot.service_guards[req.service], parent, svc);
  bool admitted = co_await guards.admit();
  if (!admitted) co_return failure_result(Attempt::connect_error, guards.refusal());
  CounterHold request_count;
  const config::UpstreamRuntime* upstream = service.upstream;
  if (upstream != nullptr && upstream->config->max_requests > 0) {
    if (upstream->state->requests.load(std::memory_order_relaxed) >= upstream->config->max_requests) {
      worker.stats().upstream_overflows.add();
      BackendResult r = failure_result(Attempt::overflow, "upstream is over its max_requests limit");
      guards.finish(r, Attempt::overflow);
      co_return r;
    }
    request_count.hold(upstream->state->requests);
  }
  deposit_retry_budget(service);
  Clock::time_point deadline = req.deadline;
  if (svc.request_timeout_ms > 0) deadline = std::min(deadline, Clock::now() + std::chrono::milliseconds(svc.request_timeout_ms));
  std::array<std::uint32_t, 16> tried{};
  std::size_t tried_count = 0;
  int retries_done = 0;
  bool fresh = false, stale_retry_used = false;
  const config::Endpoint* ep = nullptr;
  std::uint64_t jitter = 0x2545F4914F6CDD1Dull ^ reinterpret_cast<std::uintptr_t>(&req);
  BackendResult out;
  Attempt last = Attempt::connect_error;
  bool replayable = is_idempotent(req.method);
  for (;;) {
    if (!fresh) {
      ep = worker.pick_endpoint(snapshot, service.balancer_index, 0, {tried.data(), tried_count});
      if (ep == nullptr) {
        out = failure_result(Attempt::connect_error, std::string(kNoPeerMessage));
        break;
      }
      if (tried_count < tried.size()) tried[tried_count++] = ep->index;
    }
    CounterHold in_flight;
    if (balancer.tracks_in_flight()) in_flight.hold(ep->health->in_flight);
    // An https service: TLS with its settings, connections pooled apart by server name.
    UpstreamTls tls_settings;
    const UpstreamTls* tls = upstream_tls(service, *ep, ep->host_header, tls_settings);
    Destination to{&ep->address, tls != nullptr ? &tls->pool_key : &ep->pool_key, ep->host_header, upstream, tls,
                   "service", svc.name};
    Timeouts t{within(deadline, svc.connect_timeout_ms), within(deadline, svc.write_timeout_ms),
               within(deadline, svc.read_timeout_ms)};
    std::string head = request_head(req, ep->host_header);
    bool reused = false;
    out = {};
    last = co_await attempt_once(worker, to, req, head, t, fresh, reused, out);
    // Cut short by the caller: says nothing about the target (no health report, no retry) nor
    // about the service (the guards' destructor gives their admission back).
    asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return failure_result(Attempt::invalid_response, "cancelled");
    fresh = false;
    if (last == Attempt::response) {
      report_passive_health(upstream, ep, last, out.status);
      bool retry_status = out.outcome == Outcome::response &&
                          std::find(svc.retry_on_statuses.begin(), svc.retry_on_statuses.end(), out.status) !=
                              svc.retry_on_statuses.end();
      if (!retry_status || !retry_allowed(worker, service, deadline, last, retries_done, replayable)) break;
    } else {
      if (reused && replayable && !stale_retry_used && (last == Attempt::no_response || last == Attempt::write_failed)) {
        stale_retry_used = true;
        fresh = true;
        continue;
      }
      report_passive_health(upstream, ep, last, 0);
      if (!retry_allowed(worker, service, deadline, last, retries_done, replayable)) {
        out = failure_result(last, out.error);
        break;
      }
    }
    ++retries_done;
    worker.stats().upstream_retries.add();
    auto wait = backoff_delay(svc, retries_done, jitter, deadline);
    if (wait.count() > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor, wait);
      co_await timer.async_wait(use_tuple);
    }
  }
  guards.finish(out, last);
  co_return out;
}

}  // namespace

asio::awaitable<BackendResult> call_backend(Worker& worker, const config::Snapshot& snapshot,
                                            const plugin::RequestContext& parent, const BackendRequest& request) {
  if (Clock::now() >= request.deadline) co_return failure_result(Attempt::read_timeout, "timed out before it started");
  try {
    if (request.fixed != nullptr) co_return co_await call_fixed(worker, request);
    if (request.service < snapshot.services.size()) co_return co_await call_service(worker, snapshot, parent, request);
    co_return failure_result(Attempt::connect_error, "no such service");
  } catch (const boost::system::system_error& e) {
    // The caller cancelled the call (its answer was decided): the awaited operation threw.
    if (e.code() == asio::error::operation_aborted) co_return failure_result(Attempt::invalid_response, "cancelled");
    spdlog::error("backend call failed: {}", e.what());
    co_return failure_result(Attempt::invalid_response, "failed inside the gateway");
  } catch (const std::exception& e) {
    // Nothing else should throw (allocation failure aside); a call never takes the request down.
    spdlog::error("backend call failed: {}", e.what());
    co_return failure_result(Attempt::invalid_response, "failed inside the gateway");
  }
}

}  // namespace portico::proxy
