#include "plugins/rate-limiting/local_counters.hpp"

#include <algorithm>

#include "plugin/counters.hpp"

namespace portico::plugins::ratelimit {

LocalCounters::LocalCounters(Algorithm algorithm, std::size_t windows, std::size_t max_keys)
    : algorithm_(algorithm), windows_(windows), max_per_shard_(std::max<std::size_t>(1, max_keys / kShards)) {}

void LocalCounters::take(std::string_view key, const std::vector<WindowLimit>& limits, std::int64_t now_ms,
                         Decision& out) {
  const std::size_t hash = plugin::StringHash{}(key);
  // The low bits pick the map's bucket; the shard comes from the high bits.
  Shard& shard = shards_[(hash >> 58) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.map.find(key);
  if (it == shard.map.end()) {
    if (shard.map.size() >= max_per_shard_) {
      if (now_ms - shard.last_full_sweep >= 1000) {
        shard.last_full_sweep = now_ms;
        sweep_shard(shard, limits, now_ms);
      }
      if (shard.map.size() >= max_per_shard_) {
        shard.map.erase(shard.map.begin());
        keys_.fetch_sub(1, std::memory_order_relaxed);
        evictions_.fetch_add(1, std::memory_order_relaxed);
        static std::atomic<std::uint64_t>& reported = plugin::counter("rate_limiting_local_evictions");
        reported.fetch_add(1, std::memory_order_relaxed);
      }
    }
    it = shard.map.emplace(std::string(key), KeyState(windows_)).first;
    keys_.fetch_add(1, std::memory_order_relaxed);
  }
  it->second.take(algorithm_, limits, now_ms, out);
}

std::size_t LocalCounters::sweep_shard(Shard& shard, const std::vector<WindowLimit>& limits, std::int64_t now_ms) {
  std::size_t dropped = 0;
  for (auto it = shard.map.begin(); it != shard.map.end();) {
    if (it->second.idle(algorithm_, limits, now_ms)) {
      it = shard.map.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  keys_.fetch_sub(dropped, std::memory_order_relaxed);
  return dropped;
}

std::size_t LocalCounters::sweep(const std::vector<WindowLimit>& limits, std::int64_t now_ms) {
  std::size_t dropped = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    dropped += sweep_shard(shard, limits, now_ms);
  }
  return dropped;
}

}  // namespace portico::plugins::ratelimit
