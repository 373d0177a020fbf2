// WebSocket: after the access phase ran on the handshake and the upstream switched protocols
// (101), the 101 goes to the client and bytes are relayed both ways until one side ends
// (nginx's upgraded mode, as Kong proxies WebSocket). Idle limits are nginx's: the tunnel ends
// when neither side has sent anything for the service's read_timeout (a client that only
// listens, or a service that only receives, is not cut off while the other side talks);
// writes each way finish within the write timeouts.
//
// The client may be an HTTP/2 stream (RFC 8441's extended CONNECT, proxy/h2_stream.hpp): the
// same relays run over it, its half-close is END_STREAM and its end a RST_STREAM, while the
// connection's other streams go on.
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <sys/socket.h>

#include "core/worker.hpp"
#include "proxy/exchange.hpp"
#include "proxy/h2_stream.hpp"
#include "proxy/io.hpp"
#include "proxy/upstream_pool.hpp"

namespace portico::proxy {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

// A client read has no idle limit of its own (the upstream's read timeout ends a silent tunnel).
constexpr std::chrono::milliseconds kNoClientIdleLimit = std::chrono::hours(24 * 365);

// How long the other direction may still deliver after one side ended cleanly (its last frames,
// the closing handshake's answer) before the tunnel closes.
constexpr std::chrono::milliseconds kCloseLinger{2000};

// The two relays' shared state. A side that ends cleanly (EOF, TLS close_notify, END_STREAM)
// is passed on as a half-close (close_notify to a TLS peer, then FIN; END_STREAM to an HTTP/2
// client), and the other direction gets kCloseLinger to finish; an error, or the end of both,
// shuts both sockets down (resets the client's stream), which also completes whatever the
// other relay still waits for.
struct Tunnel {
  asio::ip::tcp::socket& client;
  H2Stream* client_stream;  // the client is this HTTP/2 stream (then `client` is its connection's)
  asio::ip::tcp::socket& upstream;
  std::chrono::milliseconds idle_limit;
  Side* client_in;    // the reading sides, whose timeouts a half-close shortens
  Side* upstream_in;
  std::chrono::steady_clock::time_point client_active = std::chrono::steady_clock::now();
  bool lingering = false;  // one side has ended cleanly
  bool ended = false;
  void end() {
    if (ended) return;
    ended = true;
    boost::system::error_code ignored;
    if (client_stream != nullptr) {
      client_stream->end_tunnel();
    } else {
      ::shutdown(client.native_handle(), SHUT_RDWR);
      client.cancel(ignored);
    }
    ::shutdown(upstream.native_handle(), SHUT_RDWR);
    upstream.cancel(ignored);
  }
  // `from` ended cleanly: tell `to` (its peer sees the end of the stream), and give the other
  // direction (reading `other`) kCloseLinger to deliver the rest.
  void half_close(Side& to, Side& other) {
    if (lingering) {
      end();  // both directions are done
      return;
    }
    lingering = true;
    if (to.stream != nullptr) {
      client_stream->end_tunnel_output();  // (only the client's side can be a stream)
    } else {
      if (to.tls != nullptr) to.tls->shutdown();  // close_notify
      ::shutdown(to.socket.native_handle(), SHUT_WR);
    }
    other.read_timeout = kCloseLinger;
    other.deadline.arm(kCloseLinger);  // (the pending read, if any; the next read re-arms it the same)
  }
};

// Copies what `from` sends to `to` until `from` ends, a write fails or the tunnel ends.
// `from_client`: the client's direction (its activity keeps the tunnel alive); the other is
// the service's, whose read timeout ends the tunnel only when the client was quiet too.
asio::awaitable<void> relay(Side& from, Side& to, std::uint64_t& bytes, Tunnel& tunnel, bool from_client) {
  bool clean_end = false;
  while (!tunnel.ended) {
    if (from.buffer.empty()) {
      error_code ec = co_await read_more(from);
      if (ec == asio::error::timed_out && !from_client && !tunnel.lingering &&
          std::chrono::steady_clock::now() - tunnel.client_active < tunnel.idle_limit) {
        continue;
      }
      if (ec && from.buffer.empty()) {
        clean_end = ec == asio::error::eof;
        break;
      }
    }
    if (from_client) tunnel.client_active = std::chrono::steady_clock::now();
    std::string_view data = from.buffer.readable();
    error_code ec = co_await write_all(to, data);
    if (ec) break;
    bytes += data.size();
    from.buffer.consume(data.size());
  }
  if (clean_end && !tunnel.ended) {
    tunnel.half_close(to, from_client ? *tunnel.upstream_in : *tunnel.client_in);
  } else {
    tunnel.end();
  }
}

}  // namespace

bool DownstreamConnection::websocket_requested() const { return http::is_websocket_handshake(request_); }

asio::awaitable<DownstreamConnection::Next> DownstreamConnection::relay_upgraded(Exchange& ex,
                                                                                std::unique_ptr<UpstreamConnection>& conn) {
  const auto& svc = *ex.service->config;
  const auto& options = worker_.options();
  ex.status = 101;
  // The log and the plugins' log phase read the request head after the tunnel, whose reads
  // reuse the buffer it is in.
  if (worker_.access_log().enabled() || ex.plugins) keep_request_head(ex.saved_head);

  // The 101 as any relayed head (the plugins' header phase, latency and request id fields),
  // its hop-by-hop fields replaced by the upgrade's own; what follows it in the buffer is the
  // upstream's first frames.
  bool chunk_out = false;
  build_response_head(ex, *conn, chunk_out, std::nullopt, true);

  Deadline client_read(worker_.deadlines(), &socket_), client_write(worker_.deadlines(), &socket_);
  if (stream_ != nullptr) {
    client_read.wake_instead(&H2Stream::wake, stream_);
    client_write.wake_instead(&H2Stream::wake, stream_);
  }
  Deadline upstream_read(worker_.deadlines(), &conn->socket), upstream_write(worker_.deadlines(), &conn->socket);
  auto read_timeout = std::chrono::milliseconds(svc.read_timeout_ms);
  auto write_timeout = std::chrono::milliseconds(svc.write_timeout_ms);
  Side client_in{socket_, in_, client_read, kNoClientIdleLimit, options.client_body_timeout, tls_.get(), stream_};
  Side client_out{socket_, in_, client_write, kNoClientIdleLimit, options.client_body_timeout, tls_.get(), stream_};
  Side upstream_in{conn->socket, conn->buffer, upstream_read, read_timeout, write_timeout, conn->tls.get()};
  Side upstream_out{conn->socket, conn->buffer, upstream_write, read_timeout, write_timeout, conn->tls.get()};

  error_code written = co_await write_all(client_out, response_.view());
  if (written) co_return Next::close;
  ex.bytes_sent += response_.view().size();
  Tunnel tunnel{socket_, stream_, conn->socket, read_timeout, &client_in, &upstream_in};
  std::uint64_t to_upstream = 0, to_client = 0;
  co_await (relay(client_in, upstream_out, to_upstream, tunnel, true) &&
            relay(upstream_in, client_out, to_client, tunnel, false));
  ex.request_body_bytes = to_upstream;
  ex.body_bytes_sent += to_client;
  ex.bytes_sent += to_client;
  tunnel.end();
  conn.reset();  // never pooled
  co_return Next::close;
}

}  // namespace portico::proxy
