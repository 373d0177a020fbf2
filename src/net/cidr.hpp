// IPv4/IPv6 CIDR blocks, for --trusted-ips.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <vector>

namespace portico::net {

struct Cidr {
  boost::asio::ip::address network;
  int prefix = 0;

  // Parses "10.0.0.0/8", "::1/128" or a bare address (full-length prefix).
  static std::optional<Cidr> parse(const std::string& text);
  bool contains(const boost::asio::ip::address& address) const;
};

bool any_contains(const std::vector<Cidr>& list, const boost::asio::ip::address& address);

}  // namespace portico::net
