// A plain-HTTP client connection while it waits for its next request (or its first), kept
// small: the socket, its keep-alive deadline, what the connection must remember across
// requests, and a few bytes to read the next request's start into. No coroutine frame, no
// DownstreamConnection, no pooled buffer: an idle keep-alive connection costs this object,
// Asio's state for the socket and the one pending read (docs/architecture.md "Memory").
//
// Lifecycle: the worker parks each accepted plain connection at once (accept); a
// DownstreamConnection parks itself when it has waited kParkAfter (100 ms) for its next request,
// or for the rest of a request head that stalled (DownstreamConnection::park). When bytes
// arrive, DownstreamConnection::resume() makes a connection from it and serves them, unless
// they are a few bytes of a head still arriving (then kept in `partial`, and the wait goes on);
// on the keep-alive deadline (or the head's, with a 408), an error, a close by the client or a
// drain, it is closed here.
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
#include "net/real_ip.hpp"
#include "proxy/listener_info.hpp"
#include "proxy/partial_head.hpp"

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

  // A new plain connection from `peer` on `listener` (its socket set up by the worker:
  // TCP_NODELAY, non-blocking), counted in `per_client` when that is on.
  static std::unique_ptr<ParkedConnection> accept(Worker& worker, Socket socket, net::ClientPeer peer,
                                                  const ListenerInfo& listener, net::ConnectionsPerAddress* per_client);
  // Waits for the next request's first bytes, `keepalive` at most (with a `partial` head: for
  // the rest of it, until the client header timeout from its first byte); then resumes the
  // connection (DownstreamConnection::resume) or ends it.
  static void wait(std::unique_ptr<ParkedConnection> self, std::chrono::milliseconds keepalive);
  // Called by the worker when draining: ends the wait now.
  void close_now();

  Worker& worker;
  Socket socket;
  Deadline deadline;
  net::ClientPeer peer;
  const ListenerInfo* listener = nullptr;
  std::uint64_t requests_served = 0;
  net::ConnectionsPerAddress* per_client = nullptr;  // the slot held in it, if any
  bool resumed = false;
  // The worker's list of parked connections (for draining).
  ParkedConnection* prev = nullptr;
  ParkedConnection* next = nullptr;
  // The next request's first bytes (most requests' request line fits).
  std::array<char, 64> first_bytes;
  // A request head arriving slowly: its bytes so far (first_bytes' included once read). Set
  // by hold_partial_head (the connection is then reading, no longer waiting).
  std::unique_ptr<PartialHead> partial;
  void hold_partial_head(std::string bytes, std::chrono::steady_clock::time_point started);

 private:
  static void cancel_socket(void* parked);  // the deadline's expiry
  // After a read of `got` bytes: whether they leave a head still arriving (kept in `partial`:
  // the connection stays parked). False when a DownstreamConnection should take over: the
  // bytes may be a whole head, something to refuse, too long to keep, or more may be waiting.
  bool keeps_partial_head(std::size_t got);
  // The client header timeout passed with a partial head: a 408, as a DownstreamConnection
  // answers (the connection then closes).
  void head_timed_out();
};

}  // namespace portico::proxy
