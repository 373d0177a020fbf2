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
  int backlog = 4096;  // listen(2)'s queue
};

// A proxy listener with Kong's flags: `ssl`, `backlog=N`, and `reuseport`, `deferred`,
// `bind` (accepted: every listener already uses SO_REUSEPORT and binds, and deferred accept
// would only save a wake-up). `http2` and `proxy_protocol` are refused until Portico has
// them, so a configuration asking for them never runs without them.
bool parse_listen_spec(std::string_view text, ListenSpec& out, std::string& error);

}  // namespace portico
