#include "proxy/downstream_connection.hpp"

#include "obs/route_traffic.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <spdlog/spdlog.h>

#include "config/snapshot.hpp"
#include "net/connections_per_address.hpp"
#include "net/real_ip.hpp"
#include "core/uuid.hpp"
#include "core/worker.hpp"
#include "http/h1_parser.hpp"
#include "http/h2_messages.hpp"
#include "http/status.hpp"
#include "http/grpc.hpp"
#include "proxy/body_pump.hpp"
#include "proxy/h2_server.hpp"
#include "proxy/h2_stream.hpp"
#include "proxy/io.hpp"
#include "proxy/parked_connection.hpp"
#include "proxy/partial_head.hpp"
#include "proxy/upstream_pool.hpp"
#include "proxy/exchange.hpp"
#include "router/router.hpp"

namespace portico::proxy {

namespace asio = boost::asio;

DownstreamConnection::DownstreamConnection(Worker& worker, asio::ip::tcp::socket socket, net::ClientPeer peer,
                                           const ListenerInfo& listener, std::shared_ptr<const net::TlsServerContext> tls)
    : worker_(worker),
      socket_(std::move(socket)),
      listener_(&listener),
      deadline_(worker.deadlines(), &socket_),
      peer_(std::move(peer)) {
  tls_ = std::make_unique<net::TlsStream>(std::move(tls), socket_.native_handle());
  if (listener.http2) tls_->offer_h2();
  attach_buffers();
  worker_.connection_running(this);
}

DownstreamConnection::DownstreamConnection(ParkedConnection& parked)
    : worker_(parked.worker),
      socket_(std::move(parked.socket)),
      listener_(parked.listener),
      deadline_(worker_.deadlines(), &socket_),
      requests_served_(parked.requests_served),
      peer_(std::move(parked.peer)),
      per_client_(std::exchange(parked.per_client, nullptr)) {
  if (parked.partial) head_started_ = parked.partial->started;
  attach_buffers();
  worker_.connection_running(this);
}

DownstreamConnection::DownstreamConnection(DownstreamConnection& parent, H2Stream& stream)
    : worker_(parent.worker_),
      socket_(parent.socket_.get_executor()),
      listener_(parent.listener_),
      parent_(&parent),
      stream_(&stream),
      deadline_(worker_.deadlines(), nullptr),
      peer_(parent.peer_) {
  deadline_.wake_instead(&H2Stream::wake, &stream);
  attach_buffers();
}

void DownstreamConnection::attach_buffers() {
  in_.attach(&worker_.buffers());
  head_.attach(&worker_.buffers());
  response_.attach(&worker_.buffers());
}

DownstreamConnection::~DownstreamConnection() {
  if (per_client_ != nullptr) per_client_->give_back(peer_.ip);
  worker_.return_header_vector(request_.headers);
  worker_.return_header_vector(response_head_.headers);
  if (stream_ == nullptr) {
    worker_.connection_stopped(this);
    if (!parked_) worker_.client_disconnected();
  }
}

bool DownstreamConnection::parks_now(const boost::system::error_code& ec) {
  if (!ec || !deadline_.expired() || worker_.draining() || worker_.options().keepalive_timeout <= kParkAfter) return false;
  idle_ = false;
  worker_.idle_ends();
  return true;
}

void DownstreamConnection::park(std::unique_ptr<DownstreamConnection> self, std::chrono::milliseconds keepalive_left) {
  DownstreamConnection& c = *self;
  // The descriptor moves to a socket bound to the io_context itself (smaller): released from
  // this one and assigned to that one (three system calls, once per idle period).
  boost::system::error_code ec;
  const auto protocol = c.socket_.local_endpoint(ec).protocol();
  ParkedConnection::Socket socket(c.worker_.io().get_executor());
  if (!ec) {
    const auto fd = c.socket_.release(ec);
    if (!ec) {
      socket.assign(protocol, fd, ec);
      if (ec) ::close(fd);  // (nothing owns it now)
    }
  }
  if (!ec) socket.non_blocking(true, ec);
  if (ec) return;  // (the connection ends: `socket` and `self` close what they hold)
  auto parked = std::make_unique<ParkedConnection>(c.worker_, std::move(socket));
  parked->peer = std::move(c.peer_);
  parked->listener = c.listener_;
  parked->requests_served = c.requests_served_;
  parked->per_client = std::exchange(c.per_client_, nullptr);
  if (c.in_.size() > 0) {  // a head that stalled
    parked->hold_partial_head(std::string(c.in_.readable()), c.head_started_);
  }
  c.parked_ = true;
  self.reset();  // (its buffers and header vectors go back to the worker)
  ParkedConnection::wait(std::move(parked), keepalive_left);
}

void DownstreamConnection::resume(std::unique_ptr<ParkedConnection> parked, std::size_t got) {
  auto c = std::make_unique<DownstreamConnection>(*parked);
  parked->resumed = true;
  // (a head that arrived in pieces is all in `partial`, the last read's bytes included)
  const std::string_view bytes = parked->partial ? std::string_view(parked->partial->bytes)
                                                 : std::string_view(parked->first_bytes.data(), got);
  const bool open = c->take_first_bytes(bytes.data(), bytes.size(), got == parked->first_bytes.size());
  parked.reset();  // (not the connection's end: `c` has its socket)
  if (!open) return;  // (destroying `c` closes it)
  Worker& worker = c->worker_;
  asio::co_spawn(worker.io(), serve(std::move(c)), asio::detached);
}

const net::TlsStream* DownstreamConnection::connection_tls() const {
  return parent_ != nullptr ? parent_->tls_.get() : tls_.get();
}

Side DownstreamConnection::client_side(std::chrono::milliseconds read_timeout, std::chrono::milliseconds write_timeout) {
  // A request body's reads count against its minimum rate, when one is set (HTTP/1.x only:
  // an HTTP/2 stream, a gRPC stream among them, may rightly idle between messages).
  ReadBudget* budget = current_ != nullptr && stream_ == nullptr && worker_.options().client_body_min_rate > 0
                           ? &current_->body_budget
                           : nullptr;
  return Side{socket_, in_, deadline_, read_timeout, write_timeout, tls_.get(), stream_, budget};
}

void DownstreamConnection::close_if_idle() {
  if (h2_ != nullptr) {
    h2_->drain();
  } else if (idle_) {
    boost::system::error_code ec;
    socket_.cancel(ec);
  }
}

asio::awaitable<void> DownstreamConnection::serve(std::unique_ptr<DownstreamConnection> self) {
  // The connection runs in this one frame while it has work. A plain connection with nothing
  // to read parks (ParkedConnection) and this frame ends: an idle connection holds no frame.
  // Over TLS it stays here while idle (its TLS session dwarfs the frame), as do HTTP/2
  // connections (serve_h2).
  DownstreamConnection& c = *self;
  try {
    bool handshaken = !c.tls_ || co_await c.tls_handshake();
    if (handshaken && c.tls_ && c.tls_->alpn() == "h2") {
      co_await c.serve_h2();
      handshaken = false;  // (the connection is done)
    }
    for (; handshaken;) {
      if (c.in_.empty()) {
        if (c.worker_.draining()) break;
        const bool ready = co_await c.next_request_ready();
        if (!ready) {
          c.go_idle();
          if (c.tls_) {
            auto [ec, got] = co_await c.tls_idle_read();
            if (!c.wake_up(ec, got)) break;
          } else {
            auto [ec, got] = co_await c.socket_.async_read_some(asio::buffer(c.idle_bytes_), use_tuple);
            if (c.parks_now(ec)) {
              park(std::move(self), c.worker_.options().keepalive_timeout - kParkAfter);
              co_return;  // (`c` is gone: nothing after park() may touch it)
            }
            if (!c.wake_up(ec, got)) break;
          }
        }
      }
      if (c.listener_->http2 && c.requests_served_ == 0 && !c.tls_) {
        bool h2c = co_await c.h2c_preface();
        if (h2c) {
          co_await c.serve_h2();
          break;
        }
      }
      const HeadRead head = co_await c.read_head();  // (GCC 12: not inside the condition)
      if (head == HeadRead::stalled) {
        // (parked with the head's bytes, under the head's deadline; keep-alive's if none)
        const auto keepalive = c.worker_.options().keepalive_timeout;
        park(std::move(self), keepalive);
        co_return;  // (`c` is gone)
      }
      if (head == HeadRead::done) break;
      Next next;
      {
        obs::CounterScope serving(c.worker_.stats().connections_writing);
        next = co_await c.handle_request();
      }
      if (next == Next::close || c.worker_.draining()) {
        c.closing_ = true;
        break;
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("connection from {} failed: {}", c.peer_.ip, e.what());
  }
  co_await c.linger();
}

asio::awaitable<void> DownstreamConnection::linger() {
  // Lingering close: stop sending, then briefly drain what the client still sends so
  // that our last response is not destroyed by a reset. (Its own frame, so serve()'s
  // frame, which every idle connection keeps, stays small.)
  boost::system::error_code ec;
  if (tls_) tls_->shutdown();  // close_notify first
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (!ec && closing_) {
    in_.acquire();
    for (int i = 0; i < 4; ++i) {
      in_.consume(in_.size());
      deadline_.arm(std::chrono::milliseconds(500));
      auto [rec, n] = co_await socket_.async_read_some(asio::buffer(in_.write_ptr(), in_.writable()), use_tuple);
      (void)n;
      if (rec) break;
    }
  }
  socket_.close(ec);
}

std::size_t DownstreamConnection::read_now_into(char* data, std::size_t size, boost::system::error_code& ec) {
  if (!tls_) return socket_.read_some(asio::buffer(data, size), ec);
  if (!tls_->has_pending()) {
    // A peek tells "nothing yet" for the price of the syscall alone (a TLS read that finds
    // nothing costs OpenSSL's read path too); this guess is wrong for most idle connections.
    char byte;
    if (::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      ec = asio::error::would_block;
      return 0;
    }
  }
  net::TlsStream::Want want;
  return tls_->read(data, size, want, ec);
}

asio::awaitable<bool> DownstreamConnection::tls_handshake() {
  deadline_.arm(worker_.options().client_header_timeout);
  tls_->select_certificates_from(worker_.snapshot()->sni_table);
  for (;;) {
    boost::system::error_code ec;
    net::TlsStream::Want want = tls_->handshake(ec);
    if (!ec) break;
    if (ec != asio::error::would_block) {
      deadline_.disarm();
      worker_.stats().tls_handshake_failures.add();
      spdlog::debug("TLS handshake with {} failed: {}", peer_.ip, tls_->failure().empty() ? ec.message() : tls_->failure());
      co_return false;
    }
    auto wec = co_await wait_for_tls(socket_, want);
    if (wec || deadline_.expired()) {
      deadline_.disarm();
      worker_.stats().tls_handshake_failures.add();
      co_return false;
    }
  }
  deadline_.disarm();
  tls_->select_certificates_from(nullptr);
  co_return true;
}

asio::awaitable<std::pair<boost::system::error_code, std::size_t>> DownstreamConnection::tls_idle_read() {
  // (As read_more: with nothing in OpenSSL's buffer, wait for the socket first.)
  net::TlsStream::Want want = tls_->has_pending() ? net::TlsStream::Want::nothing : net::TlsStream::Want::read;
  for (;;) {
    if (want != net::TlsStream::Want::nothing) {
      auto wec = co_await wait_for_tls(socket_, want);
      if (wec) co_return std::make_pair(wec, std::size_t{0});
    }
    boost::system::error_code ec;
    std::size_t got = tls_->read(idle_bytes_.data(), idle_bytes_.size(), want, ec);
    if (ec != asio::error::would_block) co_return std::make_pair(ec, got);
  }
}

asio::awaitable<bool> DownstreamConnection::next_request_ready() {
  // A new connection, or nothing else to do meanwhile: wait idle instead.
  if (!in_.holds_storage() || !worker_.others_busy()) co_return false;
  // Let the rest of the ready work run first: under load the client has usually sent
  // its next request by then, and a direct read finds it without an event-loop trip.
  co_await asio::post(socket_.get_executor(), asio::use_awaitable);
  boost::system::error_code ec;
  std::size_t n = read_now_into(in_.write_ptr(), in_.writable(), ec);
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
  worker_.idle_begins();
  // A plain connection parks after kParkAfter (the rest of its keep-alive time parked); over
  // TLS it waits here for the whole keep-alive timeout.
  const auto keepalive = worker_.options().keepalive_timeout;
  deadline_.arm(tls_ || keepalive <= kParkAfter ? keepalive : kParkAfter);
  // The caller now reads the first bytes into a small inline buffer: a read (unlike
  // async_wait, which costs an epoll_ctl per call in Asio's reactor) keeps the fast path.
}

bool DownstreamConnection::wake_up(const boost::system::error_code& ec, std::size_t got) {
  deadline_.disarm();
  worker_.idle_ends();
  idle_ = false;
  if (ec || deadline_.expired() || worker_.draining()) return false;  // EOF, reset, timeout
  return take_first_bytes(idle_bytes_.data(), got, got == idle_bytes_.size());
}

bool DownstreamConnection::take_first_bytes(const char* bytes, std::size_t got, bool more_may_wait) {
  in_.acquire();
  worker_.lend_header_vector(request_.headers);
  worker_.lend_header_vector(response_head_.headers);
  std::memcpy(in_.write_ptr(), bytes, got);
  in_.commit(got);
  if (more_may_wait) {
    // Read the rest without another trip through the event loop.
    boost::system::error_code rec;
    std::size_t n = read_now_into(in_.write_ptr(), in_.writable(), rec);
    if (!rec) in_.commit(n);
    else if (rec != asio::error::would_block) return false;
  }
  return true;
}

asio::awaitable<DownstreamConnection::HeadRead> DownstreamConnection::read_head() {
  const auto& options = worker_.options();
  const auto& limits = options.limits;
  std::size_t scanned = 0;
  // The whole head within the client header timeout (as nginx), however the client spaces
  // its bytes: a byte now and then does not keep a connection (slowloris). From its first
  // byte, which may have come while parked.
  const auto now = ReadBudget::Clock::now();
  ReadBudget head_budget{head_started_ != ReadBudget::Clock::time_point{} ? head_started_ : now,
                         options.client_header_timeout};
  head_started_ = {};
  for (;;) {
    // Parse only once a complete head may be there (or a limit / bare LF is hit), so a
    // client dribbling bytes costs linear, not quadratic, work. The first look at a request
    // parses directly (the whole head usually arrives at once).
    std::string_view data = in_.readable();
    const bool try_parse = scanned == 0 || head_worth_parsing(data, scanned, limits);
    scanned = data.size();
    if (try_parse || data.size() > limits.max_head_size) {
      auto outcome = http::parse_request_head(data, limits, request_);
      if (outcome.state == http::ParseState::complete) co_return HeadRead::complete;
      if (outcome.state == http::ParseState::error) {
        worker_.stats().bad_requests.add();
        co_await send_error(nullptr, outcome.status, outcome.message, true);
        co_return HeadRead::done;
      }
    }
    if (in_.writable() == 0) {
      in_.compact();
      if (in_.writable() == 0) in_.grow(limits.max_head_size + limits.max_request_line + 1024);
    }
    Side side = client_side(options.client_header_timeout, options.client_header_timeout);
    side.budget = &head_budget;
    // A plain connection's head that stops arriving for kParkAfter parks with its bytes so far
    // (a slow client, or a slowloris, then holds no pooled buffer or frame: partial_head.hpp).
    const bool may_park = tls_ == nullptr && stream_ == nullptr && in_.size() <= kMaxPartialHead &&
                          options.client_header_timeout > kParkAfter && !worker_.draining();
    if (may_park) side.read_timeout = kParkAfter;
    std::size_t before = in_.size();
    auto ec = co_await read_more(side);
    if (ec) {
      if (ec == asio::error::timed_out && may_park && ReadBudget::Clock::now() < head_budget.until()) {
        head_started_ = head_budget.started;
        co_return HeadRead::stalled;
      }
      if (ec == asio::error::timed_out && before > 0) {
        co_await send_error(nullptr, 408, "timed out reading the request head", true);
      }
      co_return HeadRead::done;
    }
  }
}

asio::awaitable<DownstreamConnection::Next> DownstreamConnection::send_error(Exchange* ex, int status,
                                                                             std::string_view message, bool close,
                                                                             std::string_view extra_headers) {
  // Errors before the body was read leave unread bytes behind: the connection must close.
  std::string headers(extra_headers);
  // Fields plugins set for the client go with the gateway's errors too (a 502 keeps its CORS
  // fields, so a browser can read it), as with Kong.
  if (ex != nullptr && ex->plugins) headers += ex->plugins->response_headers();
  append_request_id_line(ex, headers);
  if (ex != nullptr && grpc_request()) {  // a gRPC status, trailers-only (HTTP/2: nothing to close)
    co_return co_await send_response(ex, status, http::grpc_error_response(status, message, headers), false);
  }
  if (ex != nullptr) {  // a request was read: the client's wishes count too
    AnswerConnection after = own_answer_connection(close);
    close = after.close;
    if (after.tell_keep_alive) {
      headers += kKeepAliveLine;
      co_return co_await send_response(ex, status, http::json_error_response(status, message, false, headers), false);
    }
  }
  co_return co_await send_response(ex, status, http::json_error_response(status, message, close, headers), close);
}

DownstreamConnection::AnswerConnection DownstreamConnection::own_answer_connection(bool must_close) const {
  bool close = must_close || !request_.keep_alive || worker_.draining();
  return {close, !close && request_.version_minor == 0};
}

asio::awaitable<DownstreamConnection::Next> DownstreamConnection::send_response(Exchange* ex, int status,
                                                                                std::string response, bool close) {
  // Counted before the write: a client that has read the answer must see it in the counters.
  count_response_status(status);
  Side side = client_side(worker_.options().client_body_timeout, worker_.options().client_body_timeout);
  auto ec = co_await write_all(side, response);
  if (ex != nullptr) {
    ex->status = status;
    ex->bytes_sent = ec ? 0 : response.size();
    std::size_t head_end = response.find("\r\n\r\n");
    ex->body_bytes_sent = ec || head_end == std::string::npos ? 0 : response.size() - head_end - 4;
    if (ex->plugins && head_end != std::string::npos) {  // the log phase may read the answer's head
      ex->plugins->kept_answer() = std::move(response);
      ex->plugins->served.response_head = std::string_view(ex->plugins->kept_answer()).substr(0, head_end + 4);
    }
  }
  if (close) closing_ = true;
  co_return (close || ec) ? Next::close : Next::keep_alive;
}

bool DownstreamConnection::arrived_over_https() const {
  return over_tls() || (peer_.trusted && http::iequals(request_.find("X-Forwarded-Proto"), "https"));
}

bool DownstreamConnection::grpc_request() const {
  return stream_ != nullptr && http::is_grpc_content_type(request_.find("Content-Type"));
}

DownstreamConnection::ProtocolRefusal DownstreamConnection::protocol_refusal(const router::CompiledRoute& route) const {
  if (route.grpc_only) {  // (Kong's order of checks)
    if (!http::is_grpc_content_type(request_.find("Content-Type"))) return ProtocolRefusal::grpc_required;
    if (stream_ == nullptr) return ProtocolRefusal::http2_required;
    if (!route.accepts_plain_grpc && !arrived_over_https()) return ProtocolRefusal::grpcs_required;
    return ProtocolRefusal::none;
  }
  bool websocket = websocket_requested();
  if (!websocket && !route.accepts_requests) return ProtocolRefusal::websocket_required;
  bool plain_taken = websocket ? route.accepts_plain_ws : route.accepts_http;
  if (!plain_taken && !arrived_over_https()) return ProtocolRefusal::https_required;
  return ProtocolRefusal::none;
}

asio::awaitable<DownstreamConnection::Next> DownstreamConnection::send_protocol_refusal(Exchange& ex,
                                                                                       ProtocolRefusal refusal,
                                                                                       bool close) {
  const router::CompiledRoute& route = *ex.match.route;
  switch (refusal) {
    case ProtocolRefusal::grpc_required:
      co_return co_await send_error(&ex, 415, "Non-gRPC request matched gRPC route", close);
    case ProtocolRefusal::http2_required:
      co_return co_await send_error(&ex, 426, "Please use HTTP2 protocol", close,
                                    "Connection: Upgrade\r\nUpgrade: HTTP/2\r\n");
    case ProtocolRefusal::grpcs_required: {
      // Kong answers 200 with grpc-status 1 (CANCELLED).
      co_return co_await send_response(&ex, 200, http::grpc_status_response(200, 1, "gRPC request matched gRPCs route"),
                                       false);
    }
    default:
      break;
  }
  if (refusal == ProtocolRefusal::websocket_required) {
    co_return co_await send_error(&ex, 426, "This route only accepts WebSocket connections", close,
                                  "Connection: Upgrade\r\nUpgrade: websocket\r\n");
  }
  int status = route.https_redirect_status_code;
  std::string extra;
  if (status != 426) {
    // 301/302/307/308: redirect to the same host and target over https (Kong's behaviour).
    extra = "Location: https://" + std::string(http::host_without_port(request_.host)) + std::string(request_.target) + "\r\n";
  } else {
    extra = "Connection: Upgrade\r\nUpgrade: TLS/1.2, HTTP/1.1\r\n";  // (Kong's, RFC 9110 15.5.22)
  }
  co_return co_await send_error(&ex, status, "Please use HTTPS protocol", close, extra);
}

asio::awaitable<DownstreamConnection::Next> DownstreamConnection::handle_request() {
  Exchange ex;
  current_ = &ex;
  ++requests_served_;
  random_hex_id(ex.request_id);
  worker_.stats().total_requests.add();
  // The head's views stay valid until the buffer is read into again (body reads).
  in_.consume(request_.head_size);
  ex.snapshot = worker_.snapshot();
  const auto& options = worker_.options();
  ex.body_budget = ReadBudget{ex.started, options.client_body_timeout, options.client_body_min_rate};
  request_ip_ = peer_.trusted ? forwarded_client_ip() : std::string_view(peer_.ip);
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
    const net::TlsStream* tls = connection_tls();
    router::MatchInput input{request_.method, request_.host, ex.path, listener_->port, &request_, tls != nullptr,
                             tls != nullptr ? tls->server_name() : std::string_view()};
    if (!ex.snapshot || !ex.snapshot->router->match(input, ex.match)) {
      next = co_await send_error(&ex, 404, "no Route matched with those values", has_body);
    } else {
      try {
        next = co_await proxy_request(ex);
        if (ex.concurrent_body) {
          PumpResult body = co_await ex.concurrent_body->finish();
          ex.request_body_bytes = body.body_bytes;
          ex.concurrent_body.reset();
        }
      } catch (...) {
        // The connection is lost (serve() logs why), but the plugins' log phase still runs:
        // it gives back what the request held (a throttling slot, a breaker's probe).
        if (ex.plugins) {
          ex.plugins->status = ex.status;
          plugin::run_log(*ex.plugins);
        }
        throw;
      }
    }
  }
  // The plugins' record of the request (ctx.served) is only for their log phase: a route
  // whose plugins have none (a header transformation) skips it and the clock read.
  const bool plugins_log = ex.plugins && ex.plugins->chains() != nullptr && ex.plugins->chains()->uses(plugin::kLog);
  if (ex.plugins) ex.plugins->status = ex.status;
  const bool traffic = obs::route_traffic::enabled();  // the dashboard's per-route figures
  if (worker_.access_log().enabled() || plugins_log || traffic) {
    const auto finished = Clock::now();  // one clock read for the access log, the dashboard and the plugins
    if (traffic) record_traffic(ex, finished);
    log_request(ex, finished);
    if (plugins_log) {
      note_served(ex, finished);
      plugin::run_log(*ex.plugins);
    }
  }
  current_ = nullptr;
  co_return next;
}

std::string_view DownstreamConnection::forwarded_client_ip() {
  const auto& options = worker_.options();
  if (options.real_ip_header.empty()) return peer_.ip;
  // Every line of the header, in order, as one list (nginx reads repeated fields so).
  std::string values;
  for (const auto& h : request_.headers) {
    if (!http::iequals(h.name, options.real_ip_header)) continue;
    if (!values.empty()) values += ',';
    values += h.value;
  }
  auto address = net::forwarded_address(values, options.trusted_ips, options.real_ip_recursive);
  if (!address) return peer_.ip;
  forwarded_ip_ = std::move(*address);
  return forwarded_ip_;
}

void DownstreamConnection::count_response_status(int status) {
  if (status >= 500) worker_.stats().responses_5xx.add();
  else if (status >= 400) worker_.stats().responses_4xx.add();
}

void DownstreamConnection::record_traffic(const Exchange& ex, Clock::time_point now) {
  std::string_view route, service;
  if (ex.match.route != nullptr) route = ex.match.route->name.empty() ? ex.match.route->id : ex.match.route->name;
  if (ex.service != nullptr) service = ex.service->config->name.empty() ? ex.service->config->id : ex.service->config->name;
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now - ex.started).count();
  obs::route_traffic::observe(service, route, ex.status, static_cast<std::uint64_t>(std::max<std::int64_t>(micros, 0)));
}

void DownstreamConnection::log_request(const Exchange& ex, Clock::time_point now) {
  auto& log = worker_.access_log();
  if (!log.enabled()) return;
  obs::AccessRecord r;
  r.request = &request_;  // views valid: see keep_request_head()
  r.client_ip = request_ip_;
  r.server_port = listener_->port_text;
  r.https = over_tls();
  r.http2 = stream_ != nullptr;
  r.uri = ex.path.empty() ? request_.path : ex.path;
  r.status = ex.status;
  r.bytes_sent = ex.bytes_sent;
  r.body_bytes_sent = ex.body_bytes_sent;
  r.request_time = seconds_between(ex.started, now);
  if (ex.match.route != nullptr) {
    r.route = ex.match.route->name.empty() ? ex.match.route->id : ex.match.route->name;
  }
  if (ex.service != nullptr) r.service = ex.service->config->name;
  if (ex.plugins && ex.plugins->consumer() != nullptr) {
    const auto& consumer = *ex.plugins->consumer();
    r.consumer = consumer.username.empty() ? consumer.id : consumer.username;
  }
  r.request_id = request_id_of(ex);
  r.connection_requests = requests_served_;
  // Tries: the earlier ones were logged as they ended; the last one ends now.
  obs::UpstreamTry last = ex.current_try(now);
  if (ex.earlier_tries.empty()) {
    if (!last.address.empty()) r.tries = std::span<const obs::UpstreamTry>(&last, 1);
    log.append(r);
    return;
  }
  std::vector<obs::UpstreamTry> tries = ex.earlier_tries;
  if (!last.address.empty()) tries.push_back(last);
  r.tries = tries;
  log.append(r);
}

void DownstreamConnection::keep_request_head(std::string& copy) {
  const char* start = request_.method.data();
  std::string_view rest(start, request_.head_size);
  std::size_t end = rest.find("\r\n\r\n");
  copy.assign(start, end == std::string_view::npos ? rest.size() : end + 4);
  http::parse_request_head(copy, worker_.options().limits, request_);
  auto old_begin = reinterpret_cast<std::uintptr_t>(start);
  auto follow = [&](std::string_view& view) {
    auto at = reinterpret_cast<std::uintptr_t>(view.data());
    if (at >= old_begin && at < old_begin + copy.size()) view = std::string_view(copy.data() + (at - old_begin), view.size());
  };
  if (current_ == nullptr) return;
  follow(current_->path);
  for (auto& capture : current_->match.captures) follow(capture);
  if (current_->plugins) current_->plugins->set_path(current_->path);
}

void DownstreamConnection::note_served(Exchange& ex, Clock::time_point now) const {
  auto& served = ex.plugins->served;
  served.bytes_received = request_.head_size + ex.request_body_bytes;
  served.bytes_sent = ex.bytes_sent;
  served.request_ms = std::chrono::duration<double, std::milli>(now - ex.started).count();
  served.from_service = ex.from_service;
  served.started = ex.started;
  served.upstream_uri = ex.upstream_target;
  served.last_try = ex.current_try(now);
  served.earlier_tries = ex.earlier_tries;
  if (ex.upstream_sent != Clock::time_point{}) {
    served.gateway_ms = std::chrono::duration<double, std::milli>(ex.upstream_sent - ex.started).count();
    if (ex.upstream_first_byte >= ex.upstream_sent) {
      served.upstream_ms = std::chrono::duration<double, std::milli>(ex.upstream_first_byte - ex.upstream_sent).count();
    }
  } else {
    served.gateway_ms = served.request_ms;  // answered by the gateway itself
  }
}

std::string_view DownstreamConnection::request_id_of(const Exchange& ex) {
  return {ex.request_id, sizeof ex.request_id};
}

bool DownstreamConnection::sends_request_id_downstream() const {
  return worker_.options().request_id_downstream && !worker_.options().request_id_header.empty();
}

void DownstreamConnection::append_request_id_line(const Exchange* ex, std::string& out) const {
  if (ex == nullptr || !sends_request_id_downstream()) return;
  out.append(worker_.options().request_id_header).append(": ").append(request_id_of(*ex)).append("\r\n");
}

}  // namespace portico::proxy
