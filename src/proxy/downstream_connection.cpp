#include "proxy/downstream_connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <spdlog/spdlog.h>

#include "config/snapshot.hpp"
#include "core/worker.hpp"
#include "http/h1_parser.hpp"
#include "http/status.hpp"
#include "proxy/body_pump.hpp"
#include "proxy/io.hpp"
#include "proxy/upstream_pool.hpp"
#include "router/router.hpp"

namespace portico::proxy {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kUpstreamInvalid = "An invalid response was received from the upstream server";
constexpr std::string_view kUpstreamTimeout = "The upstream server is timing out";

bool is_idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::uint64_t millis_between(Clock::time_point a, Clock::time_point b) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
  return d < 0 ? 0 : static_cast<std::uint64_t>(d);
}

// The Host header's name part, for X-Forwarded-Host and redirects.
std::string_view host_without_port(std::string_view authority) {
  std::string_view host;
  int port = 0;
  http::split_authority(authority, host, port);
  return host;
}

}  // namespace

// Per-request state. Lives in the handle_request coroutine frame.
struct DownstreamConnection::Exchange {
  Clock::time_point started = Clock::now();
  Clock::time_point upstream_sent{};
  Clock::time_point upstream_first_byte{};
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
  std::uint64_t bytes_sent = 0;
  // Copies of log fields, taken when reading a body may move the request head's bytes.
  std::string saved_method, saved_target, saved_agent, saved_referer;
  bool saved = false;
  int error_status = 0;
  std::string_view error_message;
};

DownstreamConnection::DownstreamConnection(Worker& worker, asio::ip::tcp::socket socket, int local_port)
    : worker_(worker), socket_(std::move(socket)), deadline_(worker.deadlines(), &socket_), local_port_(local_port) {
  in_.attach(&worker_.buffers());
  head_.attach(&worker_.buffers());
  response_.attach(&worker_.buffers());
  boost::system::error_code ec;
  auto peer = socket_.remote_endpoint(ec);
  if (!ec) {
    auto address = peer.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    client_ip_ = address.to_string();
    trusted_peer_ = net::any_contains(worker_.options().trusted_ips, address);
  }
  local_port_text_ = std::to_string(local_port);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);  // read_some() after async_wait must never block
  worker_.connection_opened(this);
}

DownstreamConnection::~DownstreamConnection() {
  worker_.return_header_vector(request_.headers);
  worker_.return_header_vector(response_head_.headers);
  worker_.connection_closed(this);
}

void DownstreamConnection::close_if_idle() {
  if (idle_) {
    boost::system::error_code ec;
    socket_.cancel(ec);
  }
}

asio::awaitable<void> DownstreamConnection::serve(std::unique_ptr<DownstreamConnection> self) {
  try {
    co_await self->run();
  } catch (const std::exception& e) {
    spdlog::error("connection from {} failed: {}", self->client_ip_, e.what());
  }
  // Lingering close: stop sending, then briefly drain what the client still sends so
  // that our last response is not destroyed by a reset.
  boost::system::error_code ec;
  self->socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (!ec && self->closing_) {
    // Discard into the connection's own buffer (a frame-local array would cost every
    // idle connection that much memory, since this frame lives as long as the connection).
    self->in_.acquire();
    for (int i = 0; i < 4; ++i) {
      self->in_.consume(self->in_.size());
      self->deadline_.arm(std::chrono::milliseconds(500));
      auto [rec, n] = co_await self->socket_.async_read_some(
          asio::buffer(self->in_.write_ptr(), self->in_.writable()), use_tuple);
      (void)n;
      if (rec) break;
    }
  }
  self->socket_.close(ec);
}

asio::awaitable<void> DownstreamConnection::run() {
  for (;;) {
    if (in_.empty()) {
      if (worker_.draining()) co_return;
      if (!co_await next_request_ready()) {
        // Idle. The wait happens in this frame, so an idle connection keeps only two
        // coroutine frames (serve, run) alive: part of the memory budget per connection.
        go_idle();
        auto [ec, got] = co_await socket_.async_read_some(asio::buffer(idle_bytes_), use_tuple);
        if (!wake_up(ec, got)) co_return;
      }
    }
    if (!co_await read_head()) co_return;
    Next next;
    {
      obs::CounterScope serving(worker_.stats().connections_writing);
      next = co_await handle_request();
    }
    if (next == Next::close || worker_.draining()) {
      closing_ = true;
      co_return;
    }
  }
}

asio::awaitable<bool> DownstreamConnection::next_request_ready() {
  // A new connection, or nothing else to do meanwhile: wait idle instead.
  if (!in_.holds_storage() || !worker_.others_busy()) co_return false;
  // Let the rest of the ready work run first: under load the client has usually sent
  // its next request by then, and a direct read finds it without an event-loop trip.
  co_await asio::post(socket_.get_executor(), asio::use_awaitable);
  boost::system::error_code ec;
  std::size_t n = socket_.read_some(asio::buffer(in_.write_ptr(), in_.writable()), ec);
  if (ec) co_return false;  // would_block (or EOF, which the idle read reports again)
  in_.commit(n);
  co_return true;
}

void DownstreamConnection::go_idle() {
  // Idle between requests: hold no buffer and no header storage while waiting.
  in_.release();
  head_.release();
  response_.release();
  worker_.return_header_vector(request_.headers);
  worker_.return_header_vector(response_head_.headers);
  idle_ = true;
  worker_.stats().connections_waiting.add();
  deadline_.arm(worker_.options().keepalive_timeout);
  // The caller now reads the first bytes into a small inline buffer: a read (unlike
  // async_wait, which costs an epoll_ctl per call in Asio's reactor) keeps the fast path.
}

bool DownstreamConnection::wake_up(const boost::system::error_code& ec, std::size_t got) {
  deadline_.disarm();
  worker_.stats().connections_waiting.sub();
  idle_ = false;
  if (ec || deadline_.expired() || worker_.draining()) return false;  // EOF, reset, timeout
  in_.acquire();
  worker_.lend_header_vector(request_.headers);
  worker_.lend_header_vector(response_head_.headers);
  std::memcpy(in_.write_ptr(), idle_bytes_.data(), got);
  in_.commit(got);
  if (got == idle_bytes_.size()) {
    // More may be waiting: read it without another trip through the event loop.
    boost::system::error_code rec;
    std::size_t n = socket_.read_some(asio::buffer(in_.write_ptr(), in_.writable()), rec);
    if (!rec) in_.commit(n);
    else if (rec != asio::error::would_block) return false;
  }
  return true;
}

asio::awaitable<bool> DownstreamConnection::read_head() {
  const auto& options = worker_.options();
  const auto& limits = options.limits;
  std::size_t scanned = 0;
  for (;;) {
    // Parse only once a complete head may be there (or a limit / bare LF is hit), so a
    // client dribbling bytes costs linear, not quadratic, work.
    std::string_view data = in_.readable();
    // The first look at a request parses directly (the whole head usually arrives at once).
    bool try_parse = scanned == 0 || data.size() > limits.max_request_line;
    for (std::size_t i = scanned; i < data.size() && !try_parse; ++i) {
      if (data[i] == '\n') {
        if (i == 0 || data[i - 1] != '\r') try_parse = true;                   // bare LF: fail now
        else if (i >= 3 && data[i - 2] == '\n' && data[i - 3] == '\r') try_parse = true;  // end of head
      } else if (data[i] == '\r' && i + 1 < data.size() && data[i + 1] != '\n') {
        try_parse = true;  // bare CR
      }
    }
    scanned = data.size();
    if (try_parse || data.size() > limits.max_head_size) {
      auto outcome = http::parse_request_head(data, limits, request_);
      if (outcome.state == http::ParseState::complete) co_return true;
      if (outcome.state == http::ParseState::error) {
        worker_.stats().bad_requests.add();
        co_await send_error(nullptr, outcome.status, outcome.message, true);
        co_return false;
      }
    }
    if (in_.writable() == 0) {
      in_.compact();
      if (in_.writable() == 0) in_.grow(limits.max_head_size + limits.max_request_line + 1024);
    }
    Side side{socket_, in_, deadline_, options.client_header_timeout, options.client_header_timeout};
    std::size_t before = in_.size();
    auto ec = co_await read_more(side);
    if (ec) {
      if (ec == asio::error::timed_out && before > 0) {
        co_await send_error(nullptr, 408, "timed out reading the request head", true);
      }
      co_return false;
    }
  }
}

asio::awaitable<DownstreamConnection::Next> DownstreamConnection::send_error(Exchange* ex, int status,
                                                                             std::string_view message, bool close,
                                                                             std::string_view extra_headers) {
  // Errors before the body was read leave unread bytes behind: the connection must close.
  std::string response = http::json_error_response(status, message, close, extra_headers);
  // Counted before the write: a client that has read the answer must see it in the counters.
  count_response_status(status);
  Side side{socket_, in_, deadline_, worker_.options().client_body_timeout, worker_.options().client_body_timeout};
  auto ec = co_await write_all(side, response);
  if (ex != nullptr) {
    ex->status = status;
    ex->bytes_sent = ec ? 0 : response.size();
  }
  if (close) closing_ = true;
  co_return (close || ec) ? Next::close : Next::keep_alive;
}

asio::awaitable<DownstreamConnection::Next> DownstreamConnection::send_https_required(Exchange& ex, int status,
                                                                                     bool close) {
  std::string location;
  if (status != 426) {
    // 301/302/307/308: redirect to the same host and target over https (Kong's behaviour).
    location = "Location: https://" + std::string(host_without_port(request_.host)) + std::string(request_.target) + "\r\n";
  }
  co_return co_await send_error(&ex, status, "Please use HTTPS protocol", close, location);
}

asio::awaitable<DownstreamConnection::Next> DownstreamConnection::handle_request() {
  Exchange ex;
  worker_.stats().total_requests.add();
  // The head's views stay valid until the buffer is read into again (body reads).
  in_.consume(request_.head_size);
  ex.snapshot = worker_.snapshot();
  const auto& options = worker_.options();
  Next next = Next::close;
  bool has_body = request_.framing != http::BodyFraming::none;

  bool changed = false;
  if (options.max_body_size != 0 && request_.framing == http::BodyFraming::content_length &&
      request_.content_length > options.max_body_size) {
    next = co_await send_error(&ex, 413, "request body too large", true);
  } else if (!router::normalize_path(request_.path, ex.normalized_path, changed)) {
    next = co_await send_error(&ex, 400, "invalid request path", true);
  } else {
    ex.path = changed ? std::string_view(ex.normalized_path) : request_.path;
    router::MatchInput input{request_.method, request_.host, ex.path, local_port_, &request_};
    if (!ex.snapshot || !ex.snapshot->router->match(input, ex.match)) {
      next = co_await send_error(&ex, 404, "no Route matched with those values", has_body);
    } else {
      next = co_await proxy_request(ex);
    }
  }
  log_request(ex);
  co_return next;
}

std::unique_ptr<UpstreamConnection> DownstreamConnection::take_pooled(Exchange& ex) {
  const config::Endpoint* ep = worker_.pick_endpoint(*ex.snapshot, ex.match.route->service_index);
  if (ep == nullptr) return nullptr;
  ex.endpoint = ep;
  // A request that cannot be replayed checks that a pooled connection is still open.
  bool verify = request_.framing != http::BodyFraming::none || !is_idempotent(request_.method);
  auto conn = worker_.upstream_pool().take(ep->pool_key, verify);
  if (conn) worker_.stats().upstream_reused.add();
  return conn;
}

asio::awaitable<std::unique_ptr<UpstreamConnection>> DownstreamConnection::connect_upstream(Exchange& ex,
                                                                                          bool endpoint_picked) {
  const auto& svc = ex.service->config;
  int attempts = svc.retries + 1;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    // The first attempt uses the endpoint take_pooled() picked (it had no idle connection).
    const config::Endpoint* ep = (attempt == 0 && endpoint_picked)
                                     ? ex.endpoint
                                     : worker_.pick_endpoint(*ex.snapshot, ex.match.route->service_index);
    if (ep == nullptr) {
      ex.error_status = 503;
      ex.error_message = "failure to get a peer from the ring-balancer";
      co_return nullptr;
    }
    ex.endpoint = ep;
    if (attempt > 0) {
      if (auto pooled = worker_.upstream_pool().take(ep->pool_key, true)) {
        worker_.stats().upstream_reused.add();
        co_return pooled;
      }
    }
    auto conn = std::make_unique<UpstreamConnection>(socket_.get_executor(), &worker_.buffers(), worker_.deadlines());
    conn->pool_key = ep->pool_key;
    conn->deadline.arm(std::chrono::milliseconds(svc.connect_timeout_ms));
    auto [ec] = co_await conn->socket.async_connect(ep->address, use_tuple);
    conn->deadline.disarm();
    if (conn->deadline.expired()) ec = asio::error::timed_out;
    if (!ec) {
      boost::system::error_code ignored;
      conn->socket.set_option(asio::ip::tcp::no_delay(true), ignored);
      conn->socket.non_blocking(true, ignored);  // write_all() tries a direct write first
      worker_.stats().upstream_connects.add();
      co_return conn;
    }
    worker_.stats().upstream_connect_failures.add();
    if (worker_.log_limiter().allow()) {
      spdlog::warn("connect to {} for service '{}' failed (attempt {}/{}): {} ({} similar lines suppressed)",
                   ep->pool_key, svc.name, attempt + 1, attempts, ec == asio::error::timed_out ? "timed out" : ec.message(),
                   worker_.log_limiter().take_suppressed());
    }
    if (ec == asio::error::timed_out) {
      ex.error_status = 504;
      ex.error_message = kUpstreamTimeout;
    } else {
      ex.error_status = 502;
      ex.error_message = kUpstreamInvalid;
    }
    if (attempt + 1 < attempts) worker_.stats().upstream_retries.add();
  }
  co_return nullptr;
}

asio::awaitable<DownstreamConnection::Next> DownstreamConnection::proxy_request(Exchange& ex) {
  const auto& options = worker_.options();
  const router::CompiledRoute& route = *ex.match.route;
  ex.service = &ex.snapshot->services[route.service_index];
  const auto& svc = ex.service->config;
  bool has_body = request_.framing != http::BodyFraming::none;

  if (!route.accepts_http) {
    co_return co_await send_https_required(ex, route.https_redirect_status_code, has_body);
  }
  if (ex.service->endpoints.empty()) {
    co_return co_await send_error(&ex, 503, ex.service->resolve_error, has_body);
  }

  router::build_upstream_path(upstream_target_, svc.path, ex.path, ex.match.matched_length, route.strip_path,
                              route.path_handling_v1);
  if (!request_.query.empty()) upstream_target_.append("?").append(request_.query);
  ex.upstream_target = upstream_target_;
  ex.response = &response_head_;
  std::string_view forwarded_prefix;
  if (route.strip_path && ex.match.matched_length > 0) forwarded_prefix = ex.path.substr(0, ex.match.matched_length);

  if (has_body && worker_.access_log().enabled()) {
    // Reading the body may compact the buffer under the head's views: keep log fields.
    ex.saved_method = request_.method;
    ex.saved_target = request_.target;
    ex.saved_agent = request_.find("user-agent");
    ex.saved_referer = request_.find("referer");
    ex.saved = true;
  }
  bool is_head = request_.method == "HEAD";
  bool safe_to_replay = !has_body && is_idempotent(request_.method);
  std::string_view request_method = request_.method;
  std::chrono::milliseconds read_timeout(svc.read_timeout_ms), write_timeout(svc.write_timeout_ms);

  std::unique_ptr<UpstreamConnection> conn;
  for (int fresh_retry = 0;; ++fresh_retry) {
    // A pooled connection needs no coroutine; only new connections are awaited.
    conn = fresh_retry == 0 ? take_pooled(ex) : nullptr;
    if (!conn) conn = co_await connect_upstream(ex, fresh_retry == 0);
    if (!conn) co_return co_await send_error(&ex, ex.error_status, ex.error_message, has_body);
    conn->buffer.acquire();

    ForwardingInfo info;
    info.method = request_method;
    info.upstream_target = ex.upstream_target;
    info.host_header = route.preserve_host ? request_.host : std::string_view(ex.endpoint->host_header);
    info.client_ip = client_ip_;
    info.scheme = "http";
    info.server_port = local_port_text_;
    info.forwarded_prefix = forwarded_prefix;
    info.forwarded_host = host_without_port(request_.host);
    info.trusted_peer = trusted_peer_;
    info.framing = request_.framing;
    info.content_length = request_.content_length;
    build_upstream_request(head_, request_, info);

    Side client{socket_, in_, deadline_, options.client_body_timeout, options.client_body_timeout};
    Side upstream{conn->socket, conn->buffer, conn->deadline, read_timeout, write_timeout};
    if (request_.expect_continue && has_body && in_.empty()) {
      if (co_await write_all(client, kContinue)) co_return Next::close;
    }
    PumpSpec spec;
    spec.framing = request_.framing;
    spec.content_length = request_.content_length;
    spec.chunk_output = request_.framing == http::BodyFraming::chunked;
    spec.prefix = head_.view();
    spec.max_body = options.max_body_size;
    PumpResult sent;
    std::size_t written = 0;
    if (auto fast = send_buffered_now(client, upstream, spec, written, sent); fast != FastSend::done) {
      sent = co_await send_body_rest(client, upstream, spec, fast, written);
    }
    switch (sent.failure) {
      case PumpFailure::none: break;
      case PumpFailure::too_large: co_return co_await send_error(&ex, 413, "request body too large", true);
      case PumpFailure::source_malformed:
        worker_.stats().bad_requests.add();
        co_return co_await send_error(&ex, 400, "malformed chunked request body", true);
      case PumpFailure::source_timeout: co_return co_await send_error(&ex, 408, "timed out reading the request body", true);
      case PumpFailure::source_closed:
      case PumpFailure::source_error: co_return Next::close;
      case PumpFailure::sink_failed:
        if (conn->reused && safe_to_replay && fresh_retry == 0) continue;
        co_return co_await send_error(&ex, 502, kUpstreamInvalid, true);
      case PumpFailure::sink_timeout:
        worker_.stats().upstream_timeouts.add();
        co_return co_await send_error(&ex, 504, kUpstreamTimeout, true);
    }
    ex.upstream_sent = Clock::now();

    // Read the response head, skipping interim 1xx responses.
    bool retry = false;
    for (;;) {
      auto outcome = http::parse_response_head(conn->buffer.readable(), options.limits, is_head, *ex.response);
      if (outcome.state == http::ParseState::complete) {
        if (ex.response->status >= 100 && ex.response->status < 200) {
          if (ex.response->status == 101) {
            co_return co_await send_error(&ex, 502, "upstream switched protocols without an upgrade request", true);
          }
          conn->buffer.consume(ex.response->head_size);
          continue;
        }
        break;
      }
      if (outcome.state == http::ParseState::error) {
        worker_.stats().upstream_invalid_responses.add();
        if (worker_.log_limiter().allow()) {
          spdlog::warn("invalid response from {}: {} ({} similar lines suppressed)", conn->pool_key, outcome.message,
                       worker_.log_limiter().take_suppressed());
        }
        co_return co_await send_error(&ex, 502, kUpstreamInvalid, !in_.empty() || has_body);
      }
      bool nothing_received = conn->buffer.empty();
      error_code ec;
      if (nothing_received && worker_.others_busy()) {
        // The upstream has only just been sent the request: let the other ready work
        // run first, so a direct read usually finds the response instead of costing a
        // failed recv() plus an epoll round trip.
        co_await asio::post(socket_.get_executor(), asio::use_awaitable);
        if (read_now(upstream, ec)) continue;
        if (ec == asio::error::would_block) ec = {};
      }
      if (!ec) ec = co_await read_more(upstream);
      if (!ec) continue;
      if (ec == asio::error::timed_out) {
        worker_.stats().upstream_timeouts.add();
        co_return co_await send_error(&ex, 504, kUpstreamTimeout, true);
      }
      if (nothing_received && conn->reused && safe_to_replay && fresh_retry == 0) {
        retry = true;  // the pooled connection was closed by the upstream: try a fresh one
        break;
      }
      co_return co_await send_error(&ex, 502, kUpstreamInvalid, true);
    }
    if (retry) continue;
    break;
  }
  ex.upstream_first_byte = Clock::now();
  ex.upstream_status = ex.response->status;

  // Response head for the client.
  const auto& resp = *ex.response;
  bool client_http10 = request_.version_minor == 0;
  bool keep_alive = request_.keep_alive && !worker_.draining();
  bool chunk_out = false;
  response_.clear();
  response_.raw("HTTP/1.1 ").number(static_cast<std::uint64_t>(resp.status)).raw(" ")
      .raw(resp.reason.empty() ? http::reason_phrase(resp.status) : resp.reason).raw("\r\n");
  bool bodyless = is_head || resp.status == 204 || resp.status == 304 || resp.status < 200;
  for (const auto& h : resp.headers) {
    if (http::is_hop_by_hop_or_framing(h.kind)) {
      // A HEAD or 304 response's Content-Length describes the representation: keep it.
      if (bodyless && h.kind == http::FieldKind::content_length) response_.field(h.name, h.value);
      continue;
    }
    if (!resp.connection_tokens.empty() && named_in_connection(resp, h.name)) continue;
    response_.field(h.name, h.value);
  }
  switch (resp.framing) {
    case http::BodyFraming::content_length: response_.field("Content-Length", resp.content_length); break;
    case http::BodyFraming::chunked:
    case http::BodyFraming::until_close:
      if (client_http10) keep_alive = false;
      else {
        chunk_out = true;
        response_.field("Transfer-Encoding", "chunked");
      }
      break;
    case http::BodyFraming::none:
      if (!bodyless) response_.field("Content-Length", std::uint64_t{0});
      break;
  }
  response_.field("Via", "1.1 portico");
  response_.field("X-Portico-Upstream-Latency", millis_between(ex.upstream_sent, ex.upstream_first_byte));
  response_.field("X-Portico-Proxy-Latency", millis_between(ex.started, ex.upstream_sent));
  if (!keep_alive) response_.field("Connection", "close");
  else if (client_http10) response_.field("Connection", "keep-alive");
  response_.end();
  conn->buffer.consume(resp.head_size);

  Side client{socket_, in_, deadline_, options.client_body_timeout, options.client_body_timeout};
  Side upstream{conn->socket, conn->buffer, conn->deadline, read_timeout, write_timeout};
  PumpSpec spec;
  spec.framing = resp.framing;
  spec.content_length = resp.content_length;
  spec.chunk_output = chunk_out;
  spec.prefix = response_.view();
  PumpResult got;
  std::size_t written = 0;
  count_response_status(resp.status);
  if (auto fast = send_buffered_now(upstream, client, spec, written, got); fast != FastSend::done) {
    got = co_await send_body_rest(upstream, client, spec, fast, written);
  }
  ex.status = resp.status;
  ex.bytes_sent = got.wrote_anything ? response_.view().size() + got.body_bytes : 0;
  if (!got.ok()) {
    bool upstream_side = got.failure == PumpFailure::source_closed || got.failure == PumpFailure::source_error ||
                         got.failure == PumpFailure::source_timeout || got.failure == PumpFailure::source_malformed;
    if (upstream_side) {
      worker_.stats().upstream_invalid_responses.add();
      if (worker_.log_limiter().allow()) {
        spdlog::warn("upstream {} broke off the response body ({} bytes relayed; {} similar lines suppressed)",
                     conn->pool_key, got.body_bytes, worker_.log_limiter().take_suppressed());
      }
      if (!got.wrote_anything) {
        co_return co_await send_error(&ex, got.failure == PumpFailure::source_timeout ? 504 : 502,
                                      got.failure == PumpFailure::source_timeout ? kUpstreamTimeout : kUpstreamInvalid, true);
      }
    }
    co_return Next::close;
  }
  if (resp.keep_alive && resp.framing != http::BodyFraming::until_close && conn->buffer.empty()) {
    ++conn->requests;
    conn->reused = false;
    worker_.upstream_pool().give(std::move(conn));
  }
  co_return keep_alive ? Next::keep_alive : Next::close;
}

void DownstreamConnection::count_response_status(int status) {
  if (status >= 500) worker_.stats().responses_5xx.add();
  else if (status >= 400) worker_.stats().responses_4xx.add();
}

void DownstreamConnection::log_request(const Exchange& ex) {
  auto& log = worker_.access_log();
  if (!log.enabled()) return;
  obs::AccessRecord r;
  r.client_ip = client_ip_;
  if (ex.saved) {
    r.method = ex.saved_method;
    r.target = ex.saved_target;
    r.user_agent = ex.saved_agent;
    r.referer = ex.saved_referer;
  } else {
    r.method = request_.method;
    r.target = request_.target;
    r.user_agent = request_.find("user-agent");
    r.referer = request_.find("referer");
  }
  r.version_minor = request_.version_minor;
  r.status = ex.status;
  r.bytes_sent = ex.bytes_sent;
  if (ex.match.route != nullptr) r.route = ex.match.route->name;
  if (ex.endpoint != nullptr) r.upstream = ex.endpoint->pool_key;
  r.upstream_status = ex.upstream_status;
  auto now = Clock::now();
  r.request_time = seconds_between(ex.started, now);
  if (ex.upstream_first_byte != Clock::time_point{}) r.upstream_time = seconds_between(ex.upstream_sent, ex.upstream_first_byte);
  log.append(r);
}

}  // namespace portico::proxy
