// The client address behind trusted proxies: nginx's realip rules, which Kong's trusted_ips,
// real_ip_header and real_ip_recursive configure.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/cidr.hpp"

namespace portico::net {

// From the value(s) of the real-IP header a trusted peer sent ("203.0.113.7, 10.0.0.2"; several
// lines joined with ","; commas and spaces separate): the rightmost address, or, with
// `recursive`, the rightmost one not in `trusted` (all trusted: the leftmost). "IP:port" and
// "[v6]:port" count as the IP. An entry that is no address stops the walk: the last address
// read stands; nothing (nullopt) when there is none, and the peer's address stands.
std::optional<std::string> forwarded_address(std::string_view values, const std::vector<Cidr>& trusted, bool recursive);

// An IPv4-mapped IPv6 address as the IPv4 one; any other as it is.
boost::asio::ip::address unmapped(const boost::asio::ip::address& address);

// The TCP peer's address as the gateway names it (the log's $remote_addr, the per-client
// connection count's key): unmapped; nullopt once the socket has no peer (reset before it was
// served). For any Asio TCP socket type.
template <typename Socket>
std::optional<boost::asio::ip::address> peer_address(const Socket& socket) {
  boost::system::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (ec) return std::nullopt;
  return unmapped(peer.address());
}

// Who a client connection is from, read once when it is accepted, for its whole life.
struct ClientPeer {
  std::string ip;        // peer_address's text ("" without a peer)
  bool trusted = false;  // in `trusted_ips`: its X-Forwarded-* and real-IP header are believed
};

template <typename Socket>
ClientPeer client_peer(const Socket& socket, const std::vector<Cidr>& trusted_ips) {
  auto address = peer_address(socket);
  if (!address) return {};
  return {address->to_string(), any_contains(trusted_ips, *address)};
}

}  // namespace portico::net
