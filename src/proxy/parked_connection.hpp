// A plain-HTTP client connection while it waits for its next request (or its first), kept
// small: the socket, its keep-alive deadline, what the connection must remember across
// requests, and a few bytes to read the next request's start into. No coroutine frame, no
// DownstreamConnection, no pooled buffer: an idle keep-alive connection costs this object,
// Asio's state for the socket and the one pending read (docs/architecture.md "Memory").
//
// Lifecycle: the worker parks each accepted plain connection at once (accept); a
// DownstreamConnection parks itself when it has waited kParkAfter (100 ms) for its next request
// (DownstreamConnection::park). When bytes
// arrive, DownstreamConnection::resume() makes a connection from it and serves them; on the
// keep-alive deadline, an error, a close by the client or a drain, it is closed here.
// (Connections over TLS stay in their DownstreamConnection while idle: their TLS session is
// many times this size anyway; HTTP/2 connections too.)
#pragma once

#include <array>
#include <chrono>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "core/deadline.hpp"

namespace portico {
class Worker;
}

namespace portico::net {
class ConnectionsPerAddress;
}

namespace portico::proxy {

struct ParkedConnection {
  // The socket type bound to the worker's io_context itself rather than to a type-erased
  // executor: 48 bytes less here and in the pending read (which holds a copy of the executor).
  // A DownstreamConnection's tcp::socket is made from it by a move; the other way round needs
  // the descriptor released and assigned again (park()).
  using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

  // Registers with the worker (its idle list and the waiting count).
  ParkedConnection(Worker& worker, Socket socket);
  // Unregisters; unless a DownstreamConnection took the socket over (`resumed`), this is the
  // connection's end: its client-address slot is given back and the worker counts it closed.
  ~ParkedConnection();
  ParkedConnection(const ParkedConnection&) = delete;
  ParkedConnection& operator=(const ParkedConnection&) = delete;

  // A new plain connection: its peer's address, TCP_NODELAY and non-blocking mode set once
  // here for the connection's life.
  static std::unique_ptr<ParkedConnection> accept(Worker& worker, Socket socket, int local_port, bool http2);
  // Waits for the next request's first bytes, `keepalive` at most; then resumes the connection
  // (DownstreamConnection::resume) or ends it.
  static void wait(std::unique_ptr<ParkedConnection> self, std::chrono::milliseconds keepalive);
  // Called by the worker when draining: ends the wait now.
  void close_now();

  Worker& worker;
  Socket socket;
  Deadline deadline;
  std::string client_ip;       // the TCP peer's address
  std::uint64_t requests_served = 0;
  net::ConnectionsPerAddress* per_client = nullptr;  // the slot held in it, if any
  int local_port = 0;
  bool http2 = false;  // the listener also takes h2c (prior knowledge) as a first request
  bool trusted_peer = false;
  bool resumed = false;
  // The worker's list of parked connections (for draining).
  ParkedConnection* prev = nullptr;
  ParkedConnection* next = nullptr;
  // The next request's first bytes (most requests' request line fits).
  std::array<char, 64> first_bytes;

 private:
  static void cancel_socket(void* parked);  // the deadline's expiry
};

}  // namespace portico::proxy
