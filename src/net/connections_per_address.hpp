// Open client connections per client address, across all workers: the optional limit
// (--max-connections-per-client, off by default) that stops one address from holding a
// worker's whole connection budget (slowloris from one host, a client leaking connections).
//
// Threading: any worker thread may call take/give_back at once; the table is split in
// stripes, each under its own mutex, so workers rarely meet on one lock. It is consulted once
// per accepted connection (and once at its close), never per request.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace portico::net {

class ConnectionsPerAddress {
 public:
  // `limit`: at least 1.
  explicit ConnectionsPerAddress(std::uint32_t limit) : limit_(limit) {}
  ConnectionsPerAddress(const ConnectionsPerAddress&) = delete;
  ConnectionsPerAddress& operator=(const ConnectionsPerAddress&) = delete;

  // Counts one more connection from `address` (its text form) unless it already has
  // `limit` open: false then, and nothing is counted.
  bool take(std::string_view address);
  // Counts one connection from `address` as closed (one that take() counted).
  void give_back(std::string_view address);
  // Connections counted for `address` now (for tests and the status API).
  std::uint32_t open(std::string_view address) const;
  // Addresses with at least one connection counted.
  std::size_t addresses() const;
  std::uint32_t limit() const { return limit_; }

 private:
  struct Stripe {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::uint32_t> open;
  };
  static constexpr std::size_t kStripes = 64;
  Stripe& stripe(std::string_view address);
  const Stripe& stripe(std::string_view address) const;

  const std::uint32_t limit_;
  std::array<Stripe, kStripes> stripes_;
};

}  // namespace portico::net
