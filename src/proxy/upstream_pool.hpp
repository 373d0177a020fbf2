// Per-worker keep-alive pools of upstream connections.
//
// Each worker owns one UpstreamPool (no locking). Idle connections are kept per
// address in LIFO order (the most recently used connection is the warmest), give their
// read buffer back while idle, and are closed after the idle timeout, after
// max_requests, or whenever anything about their framing looked wrong.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/byte_buffer.hpp"
#include "core/deadline.hpp"
#include "net/tls.hpp"
#include "proxy/counter_hold.hpp"
#include "proxy/h2_client.hpp"
#include "proxy/io.hpp"

namespace portico::proxy {

struct UpstreamConnection {
  UpstreamConnection(const boost::asio::any_io_executor& ex, BufferPool* pool, DeadlineQueue& deadlines)
      : socket(ex), deadline(deadlines, &socket) {
    buffer.attach(pool);
  }
  boost::asio::ip::tcp::socket socket;
  Deadline deadline;
  ByteBuffer buffer;
  std::string pool_key;
  std::size_t requests = 0;   // requests sent on this connection
  bool reused = false;        // taken from the pool (may have been closed by the peer)
  std::chrono::steady_clock::time_point idle_since;
  CounterHold counted;  // the upstream's open-connection count, when it has max_connections
  std::unique_ptr<net::TlsStream> tls;  // an https service's connection: every byte goes through it
  // A gRPC service's exchange: a stream on a shared HTTP/2 connection (the worker's
  // H2ClientPool), every byte going through it; `socket` is then not opened. Never pooled
  // itself: dropping it ends the stream (reset unless the exchange completed).
  std::shared_ptr<H2ClientStream> h2;  // (shared with a request body sent alongside: concurrent_body.hpp)

  // This connection as one side of the exchange: its HTTP/2 stream, else TLS, else the socket.
  // (Every reader and writer of the service takes it from here, so that none reads a gRPC
  // answer from the unopened socket.)
  Side side(std::chrono::milliseconds read_timeout, std::chrono::milliseconds write_timeout) {
    return Side{socket, buffer, deadline, read_timeout, write_timeout, tls.get(), h2.get()};
  }
};

class UpstreamPool {
 public:
  UpstreamPool(std::size_t max_idle_per_key, std::size_t max_requests, std::chrono::milliseconds idle_timeout)
      : max_idle_(max_idle_per_key), max_requests_(max_requests), idle_timeout_(idle_timeout) {}

  // Takes an idle connection to `key`, or nullptr. Connections that idled too long are
  // dropped. A non-blocking peek drops connections the peer closed while idle; it costs a
  // syscall, so it runs when `verify` is set (a request that cannot be replayed) or the
  // connection idled longer than kVerifyAfter (replayable requests retry instead).
  std::unique_ptr<UpstreamConnection> take(const std::string& key, bool verify);
  static constexpr std::chrono::milliseconds kVerifyAfter{1000};

  // Returns a connection after a cleanly framed exchange. Closes it instead when the
  // pool is full or it has served max_requests.
  void give(std::unique_ptr<UpstreamConnection> conn);

  // Closes connections idle past the timeout. Called periodically by the worker.
  void sweep();
  // Closes everything (shutdown).
  void clear() { idle_.clear(); }
  std::size_t idle_count() const;

 private:
  std::size_t max_idle_;
  std::size_t max_requests_;
  std::chrono::milliseconds idle_timeout_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>> idle_;
};

}  // namespace portico::proxy
