#include "net/connections_per_address.hpp"

#include <functional>

namespace portico::net {

ConnectionsPerAddress::Stripe& ConnectionsPerAddress::stripe(std::string_view address) {
  return stripes_[std::hash<std::string_view>{}(address) % kStripes];
}

const ConnectionsPerAddress::Stripe& ConnectionsPerAddress::stripe(std::string_view address) const {
  return stripes_[std::hash<std::string_view>{}(address) % kStripes];
}

bool ConnectionsPerAddress::take(std::string_view address) {
  Stripe& s = stripe(address);
  std::lock_guard lock(s.mutex);
  auto it = s.open.find(std::string(address));
  if (it == s.open.end()) {
    s.open.emplace(std::string(address), 1);
    return true;
  }
  if (it->second >= limit_) return false;
  ++it->second;
  return true;
}

void ConnectionsPerAddress::give_back(std::string_view address) {
  Stripe& s = stripe(address);
  std::lock_guard lock(s.mutex);
  auto it = s.open.find(std::string(address));
  if (it == s.open.end()) return;
  // (the entry goes with the last connection: the table holds only addresses connected now)
  if (--it->second == 0) s.open.erase(it);
}

std::uint32_t ConnectionsPerAddress::open(std::string_view address) const {
  const Stripe& s = stripe(address);
  std::lock_guard lock(s.mutex);
  auto it = s.open.find(std::string(address));
  return it == s.open.end() ? 0 : it->second;
}

std::size_t ConnectionsPerAddress::addresses() const {
  std::size_t n = 0;
  for (const Stripe& s : stripes_) {
    std::lock_guard lock(s.mutex);
    n += s.open.size();
  }
  return n;
}

}  // namespace portico::net
