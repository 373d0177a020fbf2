// Fetches a small document over HTTP/1.1 or HTTPS for the control thread (a JWKS, later
// discovery documents): one GET, Connection: close, bounded size and time. TLS verifies
// the chain against the system CA store and the host name. Never used on the request path.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>

namespace portico::net {

struct FetchResult {
  int status = 0;     // 0 when no response was read
  std::string body;   // decoded (chunked or not)
  std::string error;  // set when status == 0
};

struct FetchOptions {
  std::chrono::milliseconds timeout{5000};  // whole exchange: resolve, connect, TLS, response
  std::size_t max_body = 1 << 20;
  bool verify_tls = true;
};

// `url`: http://host[:port]/path or https://... (query allowed). Errors are values.
boost::asio::awaitable<FetchResult> http_get(boost::asio::io_context& io, std::string url, FetchOptions options = {});

}  // namespace portico::net
