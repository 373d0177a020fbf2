// Small HTTP/1.1 or HTTPS exchanges for the control thread: fetching a document (a JWKS, later
// discovery documents) or delivering one (http-log batches): one request, Connection: close,
// bounded size and time. TLS verifies
// the chain against the system CA store and the host name. Never used on the request path.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <string>
#include <vector>

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
  // When set, the connection goes to these addresses instead of the URL's host resolved
  // (the host still names the server for TLS and Host): a worker's loop cannot resolve names
  // (its io_context runs without Asio's resolver thread), so its callers resolve on the
  // control thread beforehand.
  std::vector<boost::asio::ip::tcp::endpoint> addresses;
};

// `url`: http://host[:port]/path or https://... (query allowed). Errors are values.
boost::asio::awaitable<FetchResult> http_get(boost::asio::io_context& io, std::string url, FetchOptions options = {});

struct OutgoingRequest {
  std::string method = "GET";
  std::string url;
  std::string header_lines;  // complete "Name: value\r\n" lines (not Host, Content-Length, Connection)
  std::string body;          // sent with Content-Length when the method is not GET or it is not empty
};
// Any method; user info in the URL (http://user:pass@host/) becomes Basic credentials.
boost::asio::awaitable<FetchResult> http_send(boost::asio::io_context& io, OutgoingRequest request,
                                              FetchOptions options = {});

}  // namespace portico::net
