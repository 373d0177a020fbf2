// DownstreamConnection's HTTP/2 part: a connection that speaks h2 hands its socket to an
// H2Server, and each stream is served by a DownstreamConnection in stream mode, whose reads and
// writes go through the stream (proxy/h2_stream.hpp) and whose request takes the same path as
// an HTTP/1.1 request: read_head(), handle_request().
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include "core/worker.hpp"
#include "http/h2_messages.hpp"
#include "proxy/downstream_connection.hpp"
#include "proxy/h2_server.hpp"
#include "proxy/h2_stream.hpp"
#include "proxy/io.hpp"

namespace portico::proxy {

namespace asio = boost::asio;

namespace {
// The connection's reader has no timeout of its own: the H2Server's idle watcher closes a
// connection without streams after the keep-alive timeout, and streams have theirs.
constexpr std::chrono::milliseconds kNoReadLimit = std::chrono::hours(24 * 365);
}  // namespace

Http2Settings DownstreamConnection::http2_settings() const {
  const auto& options = worker_.options();
  Http2Settings settings = options.http2;
  settings.max_header_list_size = static_cast<std::uint32_t>(options.limits.max_head_size);
  return settings;
}

asio::awaitable<bool> DownstreamConnection::h2c_preface() {
  // "PRI" cannot begin an HTTP/1.1 request Portico serves (RFC 9113 3.4 chose it so).
  while (in_.size() < 3 && http::starts_h2_preface(in_.readable())) {
    Side side = client_side(worker_.options().client_header_timeout, worker_.options().client_header_timeout);
    auto ec = co_await read_more(side);
    if (ec) co_return false;  // read_head() then reports the connection's end
  }
  co_return http::starts_h2_preface(in_.readable());
}

asio::awaitable<void> DownstreamConnection::serve_h2() {
  const auto& options = worker_.options();
  in_.acquire();
  // The reader and the writer run at once: a deadline each (a socket's deadline_ serves one
  // operation at a time).
  Deadline read_deadline(worker_.deadlines(), &socket_);
  Deadline write_deadline(worker_.deadlines(), &socket_);
  Side reader{socket_, in_, read_deadline, kNoReadLimit, options.client_body_timeout, tls_.get()};
  Side writer{socket_, in_, write_deadline, kNoReadLimit, options.client_body_timeout, tls_.get()};
  H2Server server(reader, writer, http2_settings(), options.keepalive_timeout, worker_.stats().http2_abuse_closed,
                  [this](H2Stream& stream) {
    auto request = std::make_unique<DownstreamConnection>(*this, stream);
    asio::co_spawn(socket_.get_executor(), serve_stream(std::move(request)), asio::detached);
  });
  h2_ = &server;
  worker_.stats().http2_connections.add();
  co_await server.run();
  h2_ = nullptr;
  closing_ = true;  // linger() lets the client read the GOAWAY
}

asio::awaitable<void> DownstreamConnection::serve_stream(std::unique_ptr<DownstreamConnection> self) {
  DownstreamConnection& c = *self;
  H2Stream& stream = *c.stream_;
  try {
    c.in_.acquire();
    c.worker_.lend_header_vector(c.request_.headers);
    c.worker_.lend_header_vector(c.response_head_.headers);
    if (int status = stream.refusal_status(); status != 0) {
      c.worker_.stats().bad_requests.add();
      co_await c.send_error(nullptr, status, stream.refusal_message(), true);
    } else {
      const HeadRead head = co_await c.read_head();  // (a stream's never stalls: only plain connections park)
      if (head == HeadRead::complete) {
        obs::CounterScope serving(c.worker_.stats().connections_writing);
        co_await c.handle_request();
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("HTTP/2 stream from {} failed: {}", c.peer_.ip, e.what());
  }
  stream.finish();
}

}  // namespace portico::proxy
