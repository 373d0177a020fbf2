#include "proxy/balancer.hpp"

#include <algorithm>

namespace portico::proxy {
namespace {

bool contains(std::span<const std::uint32_t> list, std::uint32_t v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// Ring points per 100 of weight (ketama uses 160 per server): enough for an even spread,
// and a point's position depends only on its endpoint, so removing one target moves only
// the keys that were on its points (about 1/N of them).
constexpr double kPointsPer100Weight = 160;

}  // namespace

Algorithm parse_algorithm(std::string_view name) {
  if (name == "least-connections") return Algorithm::least_connections;
  if (name == "consistent-hashing") return Algorithm::consistent_hashing;
  if (name == "latency") return Algorithm::latency;
  return Algorithm::round_robin;
}

std::uint64_t BalancerState::next_random() {
  // xorshift64*: fast and good enough to choose between endpoints.
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545F4914F6CDD1Dull;
}

std::uint64_t hash_key(std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, then a splitmix64 finalizer
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

Balancer::Balancer(Algorithm algorithm, std::vector<Endpoint> endpoints, bool health_aware, double threshold_percent,
                   std::chrono::milliseconds trial_after)
    : algorithm_(algorithm), endpoints_(std::move(endpoints)), health_aware_(health_aware),
      threshold_percent_(threshold_percent),
      trial_after_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(trial_after).count()) {
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    endpoints_[i].index = static_cast<std::uint32_t>(i);
    total_weight_ += endpoints_[i].weight;
  }
  if (algorithm_ == Algorithm::consistent_hashing) {
    for (const auto& e : endpoints_) {
      auto points = std::max<long>(1, static_cast<long>(kPointsPer100Weight * e.weight / 100.0 + 0.5));
      for (long p = 0; p < points; ++p) {
        ring_.push_back({hash_key(e.pool_key + "#" + std::to_string(p)), e.index});
      }
    }
    std::sort(ring_.begin(), ring_.end(), [](const RingPoint& a, const RingPoint& b) { return a.hash < b.hash; });
  }
}

bool Balancer::same_inputs(Algorithm algorithm, const std::vector<Endpoint>& endpoints, bool health_aware,
                           double threshold_percent, std::chrono::milliseconds trial_after) const {
  if (algorithm != algorithm_ || health_aware != health_aware_ || threshold_percent != threshold_percent_ ||
      std::chrono::duration_cast<std::chrono::nanoseconds>(trial_after).count() != trial_after_ns_ ||
      endpoints.size() != endpoints_.size()) {
    return false;
  }
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const Endpoint& a = endpoints[i];
    const Endpoint& b = endpoints_[i];
    if (a.address != b.address || a.host_header != b.host_header || a.pool_key != b.pool_key || a.target != b.target ||
        a.weight != b.weight || a.health != b.health) {
      return false;
    }
  }
  return true;
}

bool Balancer::healthy(std::size_t i) const {
  return endpoints_[i].weight > 0 && (!health_aware_ || endpoints_[i].health->healthy());
}

bool Balancer::available(std::size_t i, const BalancerState& state) const {
  if (healthy(i)) return true;
  return state.now_ns != 0 && endpoints_[i].weight > 0 && endpoints_[i].health->trial_due(state.now_ns, trial_after_ns_);
}

bool Balancer::upstream_down() const {
  if (!health_aware_ || threshold_percent_ <= 0 || total_weight_ == 0) return false;
  int healthy_weight = 0;
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    if (healthy(i)) healthy_weight += endpoints_[i].weight;
  }
  return healthy_weight * 100.0 / total_weight_ < threshold_percent_;
}

const Endpoint* Balancer::pick(BalancerState& state, std::uint64_t hash, std::span<const std::uint32_t> tried) const {
  if (endpoints_.empty()) return nullptr;
  if (endpoints_.size() == 1 && !health_aware_) return &endpoints_[0];  // the common single address
  state.now_ns = 0;
  if (health_aware_ && trial_after_ns_ > 0) {
    state.now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       TargetHealth::Clock::now().time_since_epoch()).count();
  }
  const Endpoint* e = pick_once(state, hash, tried);
  if (e == nullptr || !health_aware_ || e->health->healthy()) return e;
  // An unhealthy address due for a trial: one request (across all workers) gets it.
  if (e->health->claim_trial(state.now_ns, trial_after_ns_)) return e;
  std::vector<std::uint32_t> skip(tried.begin(), tried.end());
  for (std::size_t n = 0; n < endpoints_.size(); ++n) {
    skip.push_back(e->index);
    e = pick_once(state, hash, skip);
    if (e == nullptr || e->health->healthy() || e->health->claim_trial(state.now_ns, trial_after_ns_)) return e;
  }
  return nullptr;
}

const Endpoint* Balancer::pick_once(BalancerState& state, std::uint64_t hash, std::span<const std::uint32_t> tried) const {
  if (upstream_down()) return nullptr;
  // First avoid endpoints this request already tried; when every available one was
  // tried (e.g. a single target), allow them again.
  for (bool avoid : {true, false}) {
    if (!avoid && tried.empty()) break;
    const Endpoint* e = nullptr;
    switch (algorithm_) {
      case Algorithm::round_robin: e = pick_round_robin(state, tried, avoid); break;
      case Algorithm::least_connections: e = pick_least_connections(state, tried, avoid); break;
      case Algorithm::consistent_hashing: e = pick_consistent(state, hash, tried, avoid); break;
      case Algorithm::latency: e = pick_latency(state, tried, avoid); break;
    }
    if (e != nullptr) return e;
  }
  return nullptr;
}

const Endpoint* Balancer::pick_round_robin(BalancerState& state, std::span<const std::uint32_t> tried, bool avoid) const {
  if (endpoints_.size() == 1) {
    return available(0, state) && !(avoid && contains(tried, 0)) ? &endpoints_[0] : nullptr;
  }
  if (state.current.size() != endpoints_.size()) state.current.assign(endpoints_.size(), 0);
  // Smooth weighted round robin (nginx): add each weight, take the largest, subtract the total.
  int total = 0;
  std::size_t best = endpoints_.size();
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    if (!available(i, state) || (avoid && contains(tried, static_cast<std::uint32_t>(i)))) continue;
    state.current[i] += endpoints_[i].weight;
    total += endpoints_[i].weight;
    if (best == endpoints_.size() || state.current[i] > state.current[best]) best = i;
  }
  if (best == endpoints_.size()) return nullptr;
  state.current[best] -= total;
  return &endpoints_[best];
}

const Endpoint* Balancer::pick_least_connections(BalancerState& state, std::span<const std::uint32_t> tried,
                                                 bool avoid) const {
  // Fewest in-flight requests per unit of weight; ties broken by a rotating start so
  // equally loaded endpoints share the work.
  std::size_t n = endpoints_.size();
  std::size_t start = state.rotation++ % n;
  const Endpoint* best = nullptr;
  std::int64_t best_load = 0;  // best's in_flight + 1; loads compared as cross products (no division)
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t i = (start + k) % n;
    if (!available(i, state) || (avoid && contains(tried, static_cast<std::uint32_t>(i)))) continue;
    const Endpoint& e = endpoints_[i];
    std::int64_t load = e.health->in_flight.load(std::memory_order_relaxed) + 1;
    if (best == nullptr || load * best->weight < best_load * e.weight) {
      best = &e;
      best_load = load;
    }
  }
  return best;
}

const Endpoint* Balancer::pick_consistent(BalancerState& state, std::uint64_t hash, std::span<const std::uint32_t> tried,
                                          bool avoid) const {
  if (ring_.empty()) return nullptr;
  auto it = std::lower_bound(ring_.begin(), ring_.end(), hash,
                             [](const RingPoint& p, std::uint64_t h) { return p.hash < h; });
  // Walk clockwise to the first point whose endpoint is usable.
  for (std::size_t k = 0; k < ring_.size(); ++k) {
    if (it == ring_.end()) it = ring_.begin();
    std::uint32_t i = it->endpoint;
    if (available(i, state) && !(avoid && contains(tried, i))) return &endpoints_[i];
    ++it;
  }
  return nullptr;
}

const Endpoint* Balancer::pick_latency(BalancerState& state, std::span<const std::uint32_t> tried, bool avoid) const {
  // Power of two choices over peak-EWMA cost = latency x (in flight + 1) / weight.
  thread_local std::vector<std::uint32_t> pool;
  pool.clear();
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    if (available(i, state) && !(avoid && contains(tried, static_cast<std::uint32_t>(i)))) {
      pool.push_back(static_cast<std::uint32_t>(i));
    }
  }
  if (pool.empty()) return nullptr;
  if (pool.size() == 1) return &endpoints_[pool[0]];
  std::size_t a = state.next_random() % pool.size();
  std::size_t b = state.next_random() % (pool.size() - 1);
  if (b >= a) ++b;
  auto now = TargetHealth::Clock::now();
  auto cost = [&](std::uint32_t i) {
    const Endpoint& e = endpoints_[i];
    double inflight = e.health->in_flight.load(std::memory_order_relaxed) + 1;
    return (e.health->latency_us_at(now) + 1) * inflight / e.weight;
  };
  return cost(pool[a]) <= cost(pool[b]) ? &endpoints_[pool[a]] : &endpoints_[pool[b]];
}

}  // namespace portico::proxy
