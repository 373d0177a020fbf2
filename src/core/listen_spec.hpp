// Listen addresses as Kong writes them: "ADDRESS:PORT" for the admin and status listeners,
// "ADDRESS:PORT [flag ...]" for proxy listeners (Kong's proxy_listen: `0.0.0.0:8443 ssl`).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <string_view>

namespace portico {

// Parses "host:port", "[v6]:port" or ":port" into an endpoint ("localhost" is 127.0.0.1).
bool parse_listen(std::string_view text, boost::asio::ip::tcp::endpoint& out, std::string& error);

struct ListenSpec {
  boost::asio::ip::tcp::endpoint endpoint;
  bool ssl = false;   // TLS on this listener (the node's certificate: --ssl-cert)
  bool http2 = false;  // HTTP/2 too: ALPN h2 with ssl, h2c with prior knowledge without
  int backlog = 4096;  // listen(2)'s queue
};

// A proxy listener with Kong's flags: `ssl`, `http2`, `backlog=N`, and `reuseport`,
// `deferred`, `bind` (accepted: every listener already uses SO_REUSEPORT and binds, and
// deferred accept would only save a wake-up). `proxy_protocol` is refused until Portico has
// it, so a configuration asking for it never runs without it.
bool parse_listen_spec(std::string_view text, ListenSpec& out, std::string& error);

}  // namespace portico
