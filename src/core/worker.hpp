// A worker: one thread, one io_context without any internal locking
// (BOOST_ASIO_CONCURRENCY_HINT_UNSAFE), its own listening sockets (SO_REUSEPORT),
// upstream pools, buffers, balancer state, stats shard and access log. Nothing here is
// shared with other workers on the request path; the control thread reaches a worker
// only through its Mailbox.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/detail/thread_info_base.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <span>
#include <thread>
#include <unordered_set>
#include <vector>

#include "config/snapshot.hpp"
#include "core/byte_buffer.hpp"
#include "core/deadline.hpp"
#include "core/mailbox.hpp"
#include "http/header_view.hpp"
#include "obs/access_log.hpp"
#include "obs/log_limiter.hpp"
#include "obs/stats.hpp"
#include "plugin/request_context.hpp"
#include "proxy/options.hpp"
#include "proxy/h2_client.hpp"
#include "proxy/listener_info.hpp"
#include "proxy/upstream_pool.hpp"

namespace portico::net {
class TlsServerContext;
class ConnectionsPerAddress;
}

namespace portico {

namespace proxy {
class DownstreamConnection;
struct ParkedConnection;
}

class Worker {
 public:
  // `log_sink` is null when the access log is off (its format is the one lines are captured in).
  // `per_client`: the gateway's count of open connections per client address (shared by all
  // workers; null when --max-connections-per-client is off).
  Worker(std::size_t index, const proxy::ProxyOptions& options, std::shared_ptr<obs::AccessLogSink> log_sink,
         net::ConnectionsPerAddress* per_client = nullptr);
  ~Worker();

  // Adopts an already bound listening socket (called before start()).
  // `tls`: the listener's TLS context, null for plain HTTP.
  void add_listener(boost::asio::ip::tcp::acceptor::native_handle_type fd, boost::asio::ip::tcp protocol, int port,
                    std::shared_ptr<const net::TlsServerContext> tls = nullptr, bool http2 = false);
  // Sets the first snapshot and starts the thread.
  void start(std::shared_ptr<const config::Snapshot> snapshot);
  // Thread-safe: hands a new snapshot to the worker (swapped on its own thread).
  void publish(std::shared_ptr<const config::Snapshot> snapshot);
  // Thread-safe: stop accepting, close idle connections, let in-flight requests finish.
  void begin_drain();
  // Thread-safe: stop the event loop now (after the grace period).
  void stop();
  void join();
  // True once the worker has no connections left after begin_drain().
  bool drained() const { return drained_.load(); }

  // --- used by connections, on the worker thread only ---
  boost::asio::io_context& io() { return *io_; }
  const proxy::ProxyOptions& options() const { return options_; }
  const std::shared_ptr<const config::Snapshot>& snapshot() const { return snapshot_; }
  obs::WorkerStats& stats() { return stats_; }
  const obs::WorkerStats& stats() const { return stats_; }
  BufferPool& buffers() { return buffers_; }
  plugin::ContextPool& plugin_contexts() { return plugin_contexts_; }
  DeadlineQueue& deadlines() { return deadlines_; }
  // Header-field vectors are lent to active connections and returned when they go idle,
  // so an idle connection holds none and a busy worker allocates none.
  void lend_header_vector(std::vector<http::HeaderField>& v) {
    if (spare_headers_.empty()) {
      v.reserve(32);
      return;
    }
    v.swap(spare_headers_.back());
    spare_headers_.pop_back();
  }
  void return_header_vector(std::vector<http::HeaderField>& v) {
    if (v.capacity() == 0) return;
    v.clear();
    if (spare_headers_.size() < 1024) spare_headers_.push_back(std::move(v));
    v = {};
  }
  proxy::UpstreamPool& upstream_pool() { return pool_; }
  // HTTP/2 connections to gRPC services (multiplexed: streams are taken, not connections).
  proxy::H2ClientPool& h2_clients() { return h2_clients_; }
  obs::AccessLog& access_log() { return access_log_; }
  obs::LogLimiter& log_limiter() { return log_limiter_; }
  bool draining() const { return draining_; }
  // True when other connections have work in flight: then yielding before a read that
  // would probably fail lets that work run, and the read usually succeeds afterwards.
  bool others_busy() const { return connections_.size() > idle_in_place_ + 1; }
  // Picks an endpoint from the snapshot's balancer `balancer_index` with this worker's
  // balancer state (see proxy::Balancer::pick).
  const config::Endpoint* pick_endpoint(const config::Snapshot& snapshot, std::size_t balancer_index, std::uint64_t hash,
                                        std::span<const std::uint32_t> tried);
  // A client connection's life, counted once from accept to close however it is held: parked
  // (proxy/parked_connection.hpp) or served by a DownstreamConnection, or both in turn.
  void client_connected();
  void client_disconnected();
  // A DownstreamConnection exists for it (serving, or idle over TLS or HTTP/2).
  void connection_running(proxy::DownstreamConnection* c);
  void connection_stopped(proxy::DownstreamConnection* c);
  // A DownstreamConnection idle in place (over TLS) between requests: the waiting count.
  void idle_begins();
  void idle_ends();
  // A parked connection (idle plain HTTP), in the worker's list for draining. Counted as
  // waiting until it holds part of a request head (parked_head_begins): then it is reading.
  void connection_parked(proxy::ParkedConnection& p);
  void parked_head_begins();
  void connection_unparked(proxy::ParkedConnection& p);

 private:
  struct Listener {
    boost::asio::ip::tcp::acceptor acceptor;
    const proxy::ListenerInfo& info;  // (in listener_infos_)
    std::shared_ptr<const net::TlsServerContext> tls;
  };
  boost::asio::awaitable<void> accept_loop(Listener& listener);
  // Accepted sockets are bound to io_ itself (proxy/parked_connection.hpp says why).
  using ClientSocket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
  // Starts serving one accepted connection (or refuses it: max_connections_per_worker,
  // max_connections_per_client).
  void serve_accepted(Listener& listener, ClientSocket socket);
  // Answers a connection it will not serve with `response` (a complete HTTP/1.1 answer; over
  // TLS, before any handshake, nothing can be said) and closes it.
  void refuse(const Listener& listener, ClientSocket& socket, const std::string& response);
  void tick();
  void check_drained();

  std::size_t index_;
  proxy::ProxyOptions options_;
  net::ConnectionsPerAddress* per_client_ = nullptr;
  // Everything a connection touches while being destroyed is declared before io_, and
  // io_ is destroyed first in ~Worker (connections live in its pending coroutines).
  DeadlineQueue deadlines_;
  obs::WorkerStats stats_;
  BufferPool buffers_;
  plugin::ContextPool plugin_contexts_;  // declared before io_: outlives the connections
  std::vector<std::vector<http::HeaderField>> spare_headers_;
  std::unordered_set<proxy::DownstreamConnection*> connections_;
  std::size_t idle_in_place_ = 0;                  // of connections_: idle between requests
  proxy::ParkedConnection* parked_ = nullptr;      // list head
  std::size_t parked_count_ = 0;
  // Per listener: what its connections point to (they may outlive listeners_ in ~Worker).
  std::vector<std::unique_ptr<const proxy::ListenerInfo>> listener_infos_;
  std::shared_ptr<const config::Snapshot> snapshot_;
  obs::AccessLog access_log_;
  obs::LogLimiter log_limiter_;
  // Per balancer of the current snapshot generation (reset when it changes).
  std::vector<proxy::BalancerState> balancer_;
  std::uint64_t balancer_generation_ = 0;
  bool draining_ = false;
  std::atomic<bool> drained_{false};

  // Allocation context for new connections' coroutine frames (see core/fresh_frames.hpp).
  boost::asio::detail::thread_info_base connection_frames_;
  std::unique_ptr<boost::asio::io_context> io_;
  // Objects bound to io_ (destroyed before it, explicitly, in ~Worker).
  std::unique_ptr<Mailbox> mailbox_;  // the only way other threads reach this worker
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::unique_ptr<DeadlineDriver> deadline_driver_;
  std::unique_ptr<boost::asio::steady_timer> tick_timer_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  proxy::UpstreamPool pool_;
  proxy::H2ClientPool h2_clients_;
  std::thread thread_;
};

}  // namespace portico
