#include "net/real_ip.hpp"

#include <boost/asio/ip/address.hpp>

namespace portico::net {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<boost::asio::ip::address> parse_entry(std::string_view entry) {
  entry = trim(entry);
  if (entry.size() > 2 && entry.front() == '[') {  // "[2001:db8::1]:443"
    std::size_t close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    entry = entry.substr(1, close - 1);
  } else if (entry.find(':') == entry.rfind(':') && entry.find(':') != std::string_view::npos) {
    entry = entry.substr(0, entry.find(':'));  // "10.0.0.1:1234" (one colon: not IPv6)
  }
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(std::string(entry), ec);
  if (ec) return std::nullopt;
  return address;
}

}  // namespace

std::optional<std::string> forwarded_address(std::string_view values, const std::vector<Cidr>& trusted, bool recursive) {
  // Entries are separated by commas and spaces (nginx's realip reads both).
  std::vector<std::string_view> entries;
  while (!values.empty()) {
    std::size_t sep = values.find_first_of(", ");
    std::string_view entry = trim(values.substr(0, sep));
    values = sep == std::string_view::npos ? std::string_view{} : values.substr(sep + 1);
    if (!entry.empty()) entries.push_back(entry);
  }
  std::optional<boost::asio::ip::address> chosen;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    auto address = parse_entry(*it);
    // An entry that is no address ends the walk: the last address read stands (none: the peer).
    if (!address) break;
    chosen = address;
    if (!recursive || !any_contains(trusted, *chosen)) break;
  }
  if (!chosen) return std::nullopt;
  return chosen->to_string();
}

boost::asio::ip::address unmapped(const boost::asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

}  // namespace portico::net
