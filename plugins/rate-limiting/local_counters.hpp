// The `local` policy's counters: one state per key for the whole process, shared by every
// worker, so a limit of N admits exactly N requests however many workers take them.
//
// Keys are spread over 64 shards, each a hash map under its own mutex held for one decision
// (a map lookup and a few arithmetic steps): workers contend only when they decide for keys of
// the same shard at the same instant. Memory is bounded: keys whose windows have all passed
// are dropped by sweep() (the plugin runs it every second on the control thread), and when a
// shard is full (max_keys / 64 keys) a new key first sweeps the shard (at most once a second),
// then evicts an arbitrary key, counted in evictions() and in /status
// (portico.rate_limiting_local_evictions). An evicted key starts again from zero:
// eviction can only admit more, never refuse a request.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/string_map.hpp"
#include "plugins/rate-limiting/limits.hpp"

namespace portico::plugins::ratelimit {

class LocalCounters {
 public:
  // `windows` is the number of windows per key (the limits passed to take() have that many).
  LocalCounters(Algorithm algorithm, std::size_t windows, std::size_t max_keys);

  // Decides for `key` at `now_ms` (thread-safe). `limits` may change between calls (a reload
  // that changes a limit keeps the counts).
  void take(std::string_view key, const std::vector<WindowLimit>& limits, std::int64_t now_ms, Decision& out);

  // Drops the keys whose state is the same as a new key's; returns how many were dropped.
  std::size_t sweep(const std::vector<WindowLimit>& limits, std::int64_t now_ms);

  std::size_t keys() const { return keys_.load(std::memory_order_relaxed); }
  std::uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  struct Shard {
    std::mutex mu;
    plugin::StringMap<KeyState> map;
    std::int64_t last_full_sweep = 0;
  };
  static constexpr std::size_t kShards = 64;
  // Removes idle keys of one shard (its lock held); returns how many.
  std::size_t sweep_shard(Shard& shard, const std::vector<WindowLimit>& limits, std::int64_t now_ms);

  Algorithm algorithm_;
  std::size_t windows_;
  std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
  std::atomic<std::size_t> keys_{0};
  std::atomic<std::uint64_t> evictions_{0};
};

}  // namespace portico::plugins::ratelimit
