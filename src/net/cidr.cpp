#include "net/cidr.hpp"

#include <charconv>

namespace portico::net {

std::optional<Cidr> Cidr::parse(const std::string& text) {
  std::string addr = text;
  int prefix = -1;
  auto slash = text.find('/');
  if (slash != std::string::npos) {
    addr = text.substr(0, slash);
    std::string p = text.substr(slash + 1);
    // Decimal digits only, no sign, no leading zero (as Kong's ipmatcher reads a prefix).
    if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0') ||
        p.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    auto r = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (r.ec != std::errc{} || r.ptr != p.data() + p.size()) return std::nullopt;
  }
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(addr, ec);
  if (ec) return std::nullopt;
  int max = a.is_v4() ? 32 : 128;
  if (prefix < 0) prefix = max;
  if (prefix > max) return std::nullopt;
  return Cidr{a, prefix};
}

bool Cidr::contains(const boost::asio::ip::address& address) const {
  boost::asio::ip::address a = address;
  if (a.is_v6() && network.is_v4() && a.to_v6().is_v4_mapped()) {
    a = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  }
  if (a.is_v4() != network.is_v4()) return false;
  auto compare = [&](const auto& x, const auto& y) {
    int bits = prefix;
    for (std::size_t i = 0; i < x.size() && bits > 0; ++i, bits -= 8) {
      unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
      if ((x[i] & mask) != (y[i] & mask)) return false;
    }
    return true;
  };
  if (a.is_v4()) return compare(a.to_v4().to_bytes(), network.to_v4().to_bytes());
  return compare(a.to_v6().to_bytes(), network.to_v6().to_bytes());
}

bool any_contains(const std::vector<Cidr>& list, const boost::asio::ip::address& address) {
  for (const auto& c : list) {
    if (c.contains(address)) return true;
  }
  return false;
}

}  // namespace portico::net
