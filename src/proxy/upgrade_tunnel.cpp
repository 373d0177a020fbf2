// WebSocket: after the access phase ran on the handshake and the upstream switched protocols
// (101), the 101 goes to the client and bytes are relayed both ways until one side ends
// (nginx's upgraded mode, as Kong proxies WebSocket). Idle limits are nginx's: the tunnel ends
// when neither side has sent anything for the service's read_timeout (a client that only
// listens, or a service that only receives, is not cut off while the other side talks);
// writes each way finish within the write timeouts.
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <sys/socket.h>

#include "core/worker.hpp"
#include "proxy/exchange.hpp"
#include "proxy/io.hpp"
#include "proxy/upstream_pool.hpp"

namespace portico::proxy {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

// A client read has no idle limit of its own (the upstream's read timeout ends a silent tunnel).
constexpr std::chrono::milliseconds kNoClientIdleLimit = std::chrono::hours(24 * 365);

// Both sockets are shut down when either direction ends: the other direction's pending
// read or write completes at once (nginx closes an upgraded connection when one side does).
struct Tunnel {
  asio::ip::tcp::socket& client;
  asio::ip::tcp::socket& upstream;
  std::chrono::milliseconds idle_limit;
  std::chrono::steady_clock::time_point client_active = std::chrono::steady_clock::now();
  bool ended = false;
  void end() {
    if (ended) return;
    ended = true;
    ::shutdown(client.native_handle(), SHUT_RDWR);
    ::shutdown(upstream.native_handle(), SHUT_RDWR);
    boost::system::error_code ignored;
    client.cancel(ignored);
    upstream.cancel(ignored);
  }
};

// Copies what `from` sends to `to` until `from` ends, a write fails or the tunnel ends.
// `from_client`: the client's direction (its activity keeps the tunnel alive); the other is
// the service's, whose read timeout ends the tunnel only when the client was quiet too.
asio::awaitable<void> relay(Side& from, Side& to, std::uint64_t& bytes, Tunnel& tunnel, bool from_client) {
  while (!tunnel.ended) {
    if (from.buffer.empty()) {
      error_code ec = co_await read_more(from);
      if (ec == asio::error::timed_out && !from_client &&
          std::chrono::steady_clock::now() - tunnel.client_active < tunnel.idle_limit) {
        continue;
      }
      if (ec && from.buffer.empty()) break;
    }
    if (from_client) tunnel.client_active = std::chrono::steady_clock::now();
    std::string_view data = from.buffer.readable();
    error_code ec = co_await write_all(to, data);
    if (ec) break;
    bytes += data.size();
    from.buffer.consume(data.size());
  }
  tunnel.end();
}

}  // namespace

bool DownstreamConnection::websocket_requested() const {
  return request_.connection_upgrade && request_.method == "GET" && request_.version_minor == 1 &&
         http::iequals(request_.find("Upgrade"), "websocket");
}

asio::awaitable<DownstreamConnection::Next> DownstreamConnection::relay_upgraded(Exchange& ex,
                                                                                std::unique_ptr<UpstreamConnection>& conn) {
  const auto& svc = *ex.service->config;
  const auto& options = worker_.options();
  const http::ResponseHead& resp = *ex.response;
  ex.upstream_status = 101;
  ex.from_service = true;
  ex.status = 101;
  // The log and the plugins' log phase read the request head after the tunnel, whose reads
  // reuse the buffer it is in.
  if (worker_.access_log().enabled() || ex.plugins) keep_request_head(ex.saved_head);

  // The 101 as the upstream sent it, its hop-by-hop fields replaced by the upgrade's own.
  std::string head = "HTTP/1.1 101 Switching Protocols\r\n";
  std::string_view upgrade = "websocket";
  for (const auto& h : resp.headers) {
    if (h.kind == http::FieldKind::upgrade) {
      upgrade = h.value;
      continue;
    }
    if (h.kind != http::FieldKind::other && h.kind != http::FieldKind::via) continue;
    if (!resp.connection_tokens.empty() && std::any_of(resp.connection_tokens.begin(), resp.connection_tokens.end(),
                                                       [&](std::string_view t) { return http::iequals(t, h.name); })) {
      continue;
    }
    head.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  head.append("Upgrade: ").append(upgrade).append("\r\nConnection: upgrade\r\n");
  if (options.request_id_downstream && !options.request_id_header.empty()) {
    head.append(options.request_id_header).append(": ").append(request_id_of(ex)).append("\r\n");
  }
  head.append("\r\n");
  conn->buffer.consume(resp.head_size);  // what follows is the upstream's first frames

  Deadline client_read(worker_.deadlines(), &socket_), client_write(worker_.deadlines(), &socket_);
  Deadline upstream_read(worker_.deadlines(), &conn->socket), upstream_write(worker_.deadlines(), &conn->socket);
  auto read_timeout = std::chrono::milliseconds(svc.read_timeout_ms);
  auto write_timeout = std::chrono::milliseconds(svc.write_timeout_ms);
  Side client_in{socket_, in_, client_read, kNoClientIdleLimit, options.client_body_timeout, tls_.get()};
  Side client_out{socket_, in_, client_write, kNoClientIdleLimit, options.client_body_timeout, tls_.get()};
  Side upstream_in{conn->socket, conn->buffer, upstream_read, read_timeout, write_timeout, conn->tls.get()};
  Side upstream_out{conn->socket, conn->buffer, upstream_write, read_timeout, write_timeout, conn->tls.get()};

  error_code written = co_await write_all(client_out, head);
  if (written) co_return Next::close;
  ex.bytes_sent += head.size();
  Tunnel tunnel{socket_, conn->socket, read_timeout};
  std::uint64_t to_upstream = 0, to_client = 0;
  co_await (relay(client_in, upstream_out, to_upstream, tunnel, true) &&
            relay(upstream_in, client_out, to_client, tunnel, false));
  ex.request_body_bytes = to_upstream;
  ex.body_bytes_sent += to_client;
  ex.bytes_sent += to_client;
  conn.reset();  // never pooled
  co_return Next::close;
}

}  // namespace portico::proxy
