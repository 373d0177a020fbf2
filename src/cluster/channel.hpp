// Hybrid mode's wire: one TLS connection per data plane to its control plane (mutual
// certificates, cluster_tls.hpp), carrying frames: a 4-byte big-endian length, a type byte,
// the payload. Portico's own framing rather than Kong's WebSocket /v1/outlet (a Kong data
// plane cannot run Portico's configuration anyway); docs/cluster.md, "Hybrid mode".
//
//   'H' hello   DP -> CP  JSON: node_id, hostname, version, plugins, config_hash
//   'C' config  CP -> DP  JSON: config_hash, config (the declarative document, Kong 3.0 shape)
//   'P' ping    DP -> CP  JSON: config_hash, config_error (null, or why the last config was refused)
//   'p' pong    CP -> DP  empty
//   'E' error   CP -> DP  JSON: message (why the control plane closes the connection)
#pragma once

#include <boost/asio/awaitable.hpp>
#include "core/system_info.hpp"
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace portico::cluster {

// Kong's: a data plane pings every PING_INTERVAL; either side drops a connection silent for
// PING_WAIT.
constexpr auto kPingInterval = std::chrono::seconds(30);
constexpr auto kPingWait = std::chrono::seconds(45);

// Unix seconds (last_seen, config_received_at).
using portico::unix_now;

using TlsSocket = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

namespace frame {
constexpr char hello = 'H', config = 'C', ping = 'P', pong = 'p', error = 'E';
}

struct Frame {
  char type = 0;
  std::string payload;
};

// Reads one frame; throws boost::system::system_error when the connection fails or closes,
// or the frame is larger than `max_payload` (the connection must then be closed).
boost::asio::awaitable<Frame> read_frame(TlsSocket& socket, std::size_t max_payload);
// Writes one frame whole (one write at a time per socket: the caller serialises them).
boost::asio::awaitable<void> write_frame(TlsSocket& socket, char type, std::string_view payload);

}  // namespace portico::cluster
