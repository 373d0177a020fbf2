#include "core/worker.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "core/fresh_frames.hpp"
#include "http/status.hpp"
#include "net/connections_per_address.hpp"
#include "net/real_ip.hpp"
#include "proxy/downstream_connection.hpp"
#include "proxy/io.hpp"
#include "proxy/parked_connection.hpp"

namespace portico {

namespace asio = boost::asio;

Worker::Worker(std::size_t index, const proxy::ProxyOptions& options, std::shared_ptr<obs::AccessLogSink> log_sink,
               net::ConnectionsPerAddress* per_client)
    : index_(index),
      options_(options),
      per_client_(per_client),
      access_log_(std::move(log_sink)),
      io_(std::make_unique<asio::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE)),
      mailbox_(std::make_unique<Mailbox>(*io_)),
      deadline_driver_(std::make_unique<DeadlineDriver>(*io_, deadlines_)),
      tick_timer_(std::make_unique<asio::steady_timer>(*io_)),
      pool_(options.upstream_keepalive_pool_size, options.upstream_keepalive_max_requests,
            options.upstream_keepalive_idle_timeout),
      h2_clients_(options.upstream_keepalive_idle_timeout) {}

Worker::~Worker() {
  stop();
  join();
  // Order matters: io-bound objects first, then the io_context (which destroys the
  // connections still owned by its coroutines), while everything they touch is alive.
  listeners_.clear();
  mailbox_.reset();
  tick_timer_.reset();
  deadline_driver_.reset();
  pool_.clear();
  h2_clients_.clear();
  work_.reset();
  // (the connections the io_context destroys now must not run check_drained(): what it
  // touches is gone)
  draining_ = false;
  io_.reset();
}

void Worker::add_listener(asio::ip::tcp::acceptor::native_handle_type fd, asio::ip::tcp protocol, int port,
                          std::shared_ptr<const net::TlsServerContext> tls, bool http2) {
  const auto& info = *listener_infos_.emplace_back(
      std::make_unique<const proxy::ListenerInfo>(proxy::ListenerInfo{port, std::to_string(port), http2}));
  auto l = std::make_unique<Listener>(Listener{asio::ip::tcp::acceptor(*io_), info, std::move(tls)});
  l->acceptor.assign(protocol, fd);
  listeners_.push_back(std::move(l));
}

void Worker::start(std::shared_ptr<const config::Snapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  work_.emplace(io_->get_executor());
  mailbox_->start();
  for (auto& l : listeners_) asio::co_spawn(*io_, accept_loop(*l), asio::detached);
  tick();
  thread_ = std::thread([this] {
    mailbox_->make_current();
    for (;;) {
      try {
        io_->run();
        break;
      } catch (const std::exception& e) {
        // Handlers do not throw by design; if one does, log and keep the worker alive.
        spdlog::error("worker {}: unexpected exception: {}", index_, e.what());
      }
    }
    access_log_.flush();
  });
}

void Worker::publish(std::shared_ptr<const config::Snapshot> snapshot) {
  mailbox_->post([this, snapshot = std::move(snapshot)]() mutable { snapshot_ = std::move(snapshot); });
}

void Worker::begin_drain() {
  mailbox_->post([this] {
    draining_ = true;
    for (auto& l : listeners_) {
      boost::system::error_code ec;
      l->acceptor.close(ec);
    }
    // Copy: closing may re-enter connection_stopped() through cancellation later.
    std::vector<proxy::DownstreamConnection*> conns(connections_.begin(), connections_.end());
    for (auto* c : conns) c->close_if_idle();
    for (auto* p = parked_; p != nullptr; p = p->next) p->close_now();  // (their reads end later)
    check_drained();
  });
}

void Worker::stop() {
  if (!thread_.joinable()) return;  // not running: nothing to stop
  mailbox_->post([this] { io_->stop(); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::check_drained() {
  if (draining_ && connections_.empty() && parked_ == nullptr) {
    drained_ = true;
    pool_.clear();
    h2_clients_.clear();
    tick_timer_->cancel();
    deadline_driver_->stop();
    work_.reset();  // the loop now ends on its own; the mailbox still takes stop()
  }
}

// Accepts in bursts: after each wake-up, every connection already waiting (up to
// kAcceptBurst) is taken at once with non-blocking accept() calls, as nginx's multi_accept.
// One accept per wake-up would let each new connection wait for a whole pass of the loop's
// ready handlers; under load (a fan-out's calls filling the queue) a burst of 256 new clients
// then waited more than a second for the last ones.
asio::awaitable<void> Worker::accept_loop(Listener& listener) {
  constexpr int kAcceptBurst = 256;
  boost::system::error_code ignored;
  listener.acceptor.non_blocking(true, ignored);
  std::uint64_t failures = 0;  // accept failures in a row
  for (;;) {
    auto [ec, socket] = co_await listener.acceptor.async_accept(io_->get_executor(), proxy::use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !listener.acceptor.is_open()) co_return;
      // EMFILE and friends: back off briefly instead of spinning, and say so once, not 20
      // times a second (again when accepting works again).
      if (failures++ == 0) spdlog::warn("worker {}: accept failed: {} (retrying every 50 ms)", index_, ec.message());
      asio::steady_timer t(*io_, std::chrono::milliseconds(50));
      co_await t.async_wait(proxy::use_tuple);
      continue;
    }
    if (failures > 0) {
      spdlog::warn("worker {}: accepting again after {} failed attempts", index_, failures);
      failures = 0;
    }
    serve_accepted(listener, std::move(socket));
    for (int i = 1; i < kAcceptBurst; ++i) {
      boost::system::error_code more_ec;
      ClientSocket more = listener.acceptor.accept(io_->get_executor(), more_ec);
      if (more_ec) break;  // would_block: none waiting; an error: the async accept reports it
      serve_accepted(listener, std::move(more));
    }
  }
}

void Worker::refuse(const Listener& listener, ClientSocket& socket, const std::string& response) {
  stats_.connections_refused.add();
  boost::system::error_code ignored;
  if (!listener.tls) {
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(response.data(), response.size()), ignored);
  }
  socket.close(ignored);
}

void Worker::serve_accepted(Listener& listener, ClientSocket socket) {
  stats_.connections_accepted.add();
  if (connections_.size() + parked_count_ >= options_.max_connections_per_worker) {
    static const std::string kBusy = http::json_error_response(503, "too many open connections", true);
    return refuse(listener, socket, kBusy);
  }
  auto peer = net::client_peer(socket, options_.trusted_ips);
  if (per_client_ != nullptr && !per_client_->take(peer.ip)) {
    static const std::string kTooMany =
        http::json_error_response(429, "too many open connections from this client address", true);
    return refuse(listener, socket, kTooMany);
  }
  client_connected();
  // Set once for the connection's life: writes are not delayed (Nagle), and reads and writes
  // try the kernel first (a read after a wake-up must never block).
  boost::system::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  socket.non_blocking(true, ignored);
  if (!listener.tls) {  // plain HTTP: parked until its first bytes arrive
    auto parked = proxy::ParkedConnection::accept(*this, std::move(socket), std::move(peer), listener.info,
                                                  per_client_);
    proxy::ParkedConnection::wait(std::move(parked), options_.keepalive_timeout);
    return;
  }
  auto conn = std::make_unique<proxy::DownstreamConnection>(*this, asio::ip::tcp::socket(std::move(socket)),
                                                            std::move(peer), listener.info, listener.tls);
  if (per_client_ != nullptr) conn->hold_client_slot(per_client_);
  FreshFrames fresh(connection_frames_);  // the connection's long-lived frames: exact size
  asio::co_spawn(*io_, proxy::DownstreamConnection::serve(std::move(conn)), asio::detached);
}

void Worker::tick() {
  tick_timer_->expires_after(std::chrono::seconds(1));
  tick_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    access_log_.flush();
    pool_.sweep();
    h2_clients_.sweep();
    tick();
  });
}

const config::Endpoint* Worker::pick_endpoint(const config::Snapshot& snapshot, std::size_t balancer_index,
                                              std::uint64_t hash, std::span<const std::uint32_t> tried) {
  if (balancer_generation_ != snapshot.generation) {
    balancer_.clear();
    balancer_generation_ = snapshot.generation;
  }
  if (balancer_.size() < snapshot.balancers.size()) {
    std::size_t first_new = balancer_.size();
    balancer_.resize(snapshot.balancers.size());
    // Different random streams per worker and balancer, so workers do not pick in lockstep.
    for (std::size_t i = first_new; i < balancer_.size(); ++i) balancer_[i].rng ^= (index_ + 1) * 0x9E3779B97F4A7C15ull + i;
  }
  return snapshot.balancers[balancer_index]->pick(balancer_[balancer_index], hash, tried);
}

void Worker::client_connected() {
  stats_.connections_active.add();
  stats_.connections_handled.add();
}

void Worker::client_disconnected() {
  stats_.connections_active.sub();
  if (draining_) check_drained();
}

void Worker::connection_running(proxy::DownstreamConnection* c) { connections_.insert(c); }

void Worker::connection_stopped(proxy::DownstreamConnection* c) {
  connections_.erase(c);
  if (draining_) check_drained();
}

void Worker::idle_begins() {
  ++idle_in_place_;
  stats_.connections_waiting.add();
}

void Worker::idle_ends() {
  --idle_in_place_;
  stats_.connections_waiting.sub();
}

void Worker::connection_parked(proxy::ParkedConnection& p) {
  p.prev = nullptr;
  p.next = parked_;
  if (parked_ != nullptr) parked_->prev = &p;
  parked_ = &p;
  ++parked_count_;
  stats_.connections_waiting.add();
  stats_.connections_parked.add();
}

void Worker::parked_head_begins() { stats_.connections_waiting.sub(); }

void Worker::connection_unparked(proxy::ParkedConnection& p) {
  if (p.prev != nullptr) p.prev->next = p.next;
  else parked_ = p.next;
  if (p.next != nullptr) p.next->prev = p.prev;
  p.prev = p.next = nullptr;
  --parked_count_;
  if (!p.partial) stats_.connections_waiting.sub();
  stats_.connections_parked.sub();
  if (draining_) check_drained();
}

}  // namespace portico
