// gRPC's health checking protocol (grpc.health.v1.Health/Check) as an active health check
// (healthchecks.active.type grpc or grpcs): one call on a connection of its own, made with
// nghttp2 over any connected Asio stream (plain, or TLS that agreed on h2). Healthy: the call
// ended with grpc-status 0 and the answer's status is SERVING (1).
#pragma once

#include <nghttp2/nghttp2.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <string>
#include <string_view>

namespace portico::proxy {

// What a health call found.
enum class GrpcHealth { serving, not_serving, failed };

// The call's state, filled by nghttp2's callbacks (grpc_health_probe.cpp).
struct GrpcHealthCall {
  std::int32_t stream_id = 0;
  std::string status;        // :status
  std::string grpc_status;   // from the HEADERS or the trailers
  std::string body;          // the length-prefixed answer
  bool closed = false;
  std::uint32_t close_code = 0;
  std::size_t request_sent = 0;

  // A new client session for one Check call of `service` ("" for the whole server) at
  // `authority`, with its SETTINGS and the request queued. Null when nghttp2 failed.
  nghttp2_session* start(std::string_view authority, bool tls, std::string_view service);
  // The verdict once the stream closed.
  GrpcHealth verdict() const;

 private:
  std::string request_;  // the length-prefixed HealthCheckRequest
};

// Runs the call over `stream` (connected; TLS done) until the answer is complete.
template <typename Stream>
boost::asio::awaitable<GrpcHealth> grpc_health_probe(Stream& stream, std::string_view authority, bool tls,
                                                     std::string_view service = {}) {
  using boost::asio::as_tuple;
  using boost::asio::use_awaitable;
  GrpcHealthCall call;
  nghttp2_session* session = call.start(authority, tls, service);
  if (session == nullptr) co_return GrpcHealth::failed;
  GrpcHealth verdict = GrpcHealth::failed;
  char in[4096];
  for (;;) {
    std::string out;
    for (;;) {
      const std::uint8_t* data = nullptr;
      auto n = nghttp2_session_mem_send(session, &data);
      if (n <= 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (!out.empty()) {
      auto [ec, written] = co_await boost::asio::async_write(stream, boost::asio::buffer(out), as_tuple(use_awaitable));
      (void)written;
      if (ec) break;
    }
    if (call.closed) {
      verdict = call.verdict();
      break;
    }
    auto [ec, n] = co_await stream.async_read_some(boost::asio::buffer(in), as_tuple(use_awaitable));
    if (ec) break;
    if (nghttp2_session_mem_recv(session, reinterpret_cast<const std::uint8_t*>(in), n) < 0) break;
  }
  nghttp2_session_del(session);
  co_return verdict;
}

}  // namespace portico::proxy
