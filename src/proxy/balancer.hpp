// Load balancing over an upstream's resolved addresses (Kong's `algorithm`).
//
// A Balancer is immutable and lives in the config snapshot; the mutable per-worker part
// (smooth round-robin weights, a rotation counter, a random generator) is a
// BalancerState owned by each worker, so picking takes no lock. Cross-worker facts
// (health, requests in flight, latency) come from each endpoint's TargetHealth.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/target_health.hpp"

namespace portico::proxy {

// One resolved address of a service or of an upstream's target.
struct Endpoint {
  boost::asio::ip::tcp::endpoint address;
  std::string host_header;  // Host sent upstream when preserve_host is off
  std::string pool_key;     // "ip:port", the upstream keep-alive pool key
  std::string target;       // the configured target ("host:port"), for reports
  int weight = 100;
  std::uint32_t index = 0;               // position in the balancer's endpoint list
  std::shared_ptr<TargetHealth> health;  // never null
};

enum class Algorithm { round_robin, least_connections, consistent_hashing, latency };
Algorithm parse_algorithm(std::string_view name);  // Kong's names; round-robin otherwise

struct BalancerState {
  std::vector<int> current;  // smooth weighted round robin
  std::uint32_t rotation = 0;
  std::uint64_t rng = 0x9E3779B97F4A7C15ull;
  std::int64_t now_ns = 0;  // set by pick() when unhealthy addresses may get trial requests
  std::uint64_t next_random();
};

// Stable 64-bit hash for consistent hashing (the same key maps to the same target on
// every node and after restarts).
std::uint64_t hash_key(std::string_view key);

class Balancer {
 public:
  // `health_aware`: skip unhealthy endpoints (health checks configured).
  // `threshold_percent`: Kong's healthchecks.threshold; below that share of healthy
  // weight the whole upstream counts as down. `trial_after` (0: never): an unhealthy
  // address gets one trial request once that long has passed since it was marked or last
  // tried (nginx's fail_timeout; healthchecks.passive.unhealthy.fail_timeout).
  Balancer(Algorithm algorithm, std::vector<Endpoint> endpoints, bool health_aware, double threshold_percent,
           std::chrono::milliseconds trial_after = std::chrono::milliseconds(0));

  // True when a balancer built from these inputs would be this one, so a new snapshot can
  // keep it (and with it every worker's smooth round-robin position).
  bool same_inputs(Algorithm algorithm, const std::vector<Endpoint>& endpoints, bool health_aware, double threshold_percent,
                   std::chrono::milliseconds trial_after) const;
  Algorithm algorithm() const { return algorithm_; }
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }
  bool tracks_in_flight() const { return algorithm_ == Algorithm::least_connections || algorithm_ == Algorithm::latency; }

  // Picks the endpoint for one attempt: healthy, not in `tried` while an untried one is
  // available. `hash` is the request's key (consistent-hashing only). nullptr when no
  // endpoint is available ("failure to get a peer from the ring-balancer").
  const Endpoint* pick(BalancerState& state, std::uint64_t hash, std::span<const std::uint32_t> tried) const;

 private:
  bool healthy(std::size_t i) const;
  bool available(std::size_t i, const BalancerState& state) const;  // healthy, or due for a trial
  bool upstream_down() const;
  const Endpoint* pick_once(BalancerState& state, std::uint64_t hash, std::span<const std::uint32_t> tried) const;
  const Endpoint* pick_round_robin(BalancerState& state, std::span<const std::uint32_t> tried, bool avoid) const;
  const Endpoint* pick_least_connections(BalancerState& state, std::span<const std::uint32_t> tried, bool avoid) const;
  const Endpoint* pick_consistent(BalancerState& state, std::uint64_t hash, std::span<const std::uint32_t> tried,
                                  bool avoid) const;
  const Endpoint* pick_latency(BalancerState& state, std::span<const std::uint32_t> tried, bool avoid) const;

  Algorithm algorithm_;
  std::vector<Endpoint> endpoints_;
  bool health_aware_;
  double threshold_percent_;
  std::int64_t trial_after_ns_;
  int total_weight_ = 0;
  struct RingPoint {
    std::uint64_t hash;
    std::uint32_t endpoint;
  };
  std::vector<RingPoint> ring_;  // consistent-hashing only, sorted by hash
};

}  // namespace portico::proxy
