// Labelled series recorded per worker thread and merged at scrape: the storage behind the
// prometheus plugin's metrics (http_metrics) and the plugins' labelled counters
// (counter_family.hpp).
//
// A series is found by its key (the label values joined with '\0') in the calling thread's
// shard: a hash lookup, no lock and no allocation once it exists; its counters are
// single-writer (obs::Counter). Adding a series takes the shard's mutex, which a scrape holds
// while it reads the shard; the worker's own lookups need no lock since only it changes its
// shard's map. Each shard holds at most max_series() series: an observation that would need
// one more is dropped and counted (series_overflows()).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace portico::obs {

// Process-wide: the cap per shard (--metrics-max-series) and the dropped observations.
void set_max_series(std::size_t max);
std::size_t max_series();
std::uint64_t series_overflows();
void count_series_overflow();

// The key of a series: label values joined (and ended) by '\0'. `key` is reused scratch.
void build_series_key(std::string& key, std::initializer_list<std::string_view> values);
std::vector<std::string_view> split_series_key(std::string_view key);
// Whether `key` is the key of these label values, without building it (the per-request check
// against the last series found).
inline bool series_key_is(std::string_view key, std::initializer_list<std::string_view> values) {
  for (auto v : values) {
    if (key.size() <= v.size() || key[v.size()] != '\0' || key.substr(0, v.size()) != v) return false;
    key.remove_prefix(v.size() + 1);
  }
  return key.empty();
}

namespace detail {
int next_family_slot();                     // each ShardedSeries gets one, for thread_local lookup
inline constexpr int kMaxFamilies = 64;
}  // namespace detail

template <typename Series>
class ShardedSeries {
 public:
  // The metrics' families share --metrics-max-series and its overflow count.
  ShardedSeries() : slot_(detail::next_family_slot()) {}
  // A family with its own cap per shard and overflow count (the dashboard's recorder: what it
  // keeps must not take the place of, or be counted as, the metrics' series).
  ShardedSeries(std::size_t own_max, std::atomic<std::uint64_t>* own_overflows)
      : slot_(detail::next_family_slot()), own_max_(own_max), own_overflows_(own_overflows) {}
  ShardedSeries(const ShardedSeries&) = delete;
  ShardedSeries& operator=(const ShardedSeries&) = delete;

  // The calling thread's series for the label values, created on first use; null when the
  // shard is full (the observation is counted as dropped).
  Series* find(std::initializer_list<std::string_view> values) {
    Shard& shard = this_thread_shard();
    // Steady traffic on one route asks for the same series again: no key, no hash, no probe.
    if (shard.last != nullptr && series_key_is(shard.last_key, values)) return shard.last;
    build_series_key(shard.key, values);
    auto it = shard.series.find(std::string_view(shard.key));
    if (it == shard.series.end()) {
      if (shard.series.size() >= (own_max_ != 0 ? own_max_ : max_series())) {
        if (own_overflows_ != nullptr) own_overflows_->fetch_add(1, std::memory_order_relaxed);
        else count_series_overflow();
        return nullptr;
      }
      std::lock_guard lock(shard.mutex);
      it = shard.series.emplace(shard.key, std::make_unique<Series>()).first;
    }
    shard.last_key = it->first;  // map nodes never move: the view stays valid
    shard.last = it->second.get();
    return shard.last;
  }

  // Scrape: fn(key, series) for every series of every shard (the same key may come from
  // several shards: the caller merges).
  template <typename Fn>
  void for_each(Fn fn) const {
    std::lock_guard registry_lock(mutex_);
    for (const auto& shard : shards_) {
      std::lock_guard lock(shard->mutex);
      for (const auto& [key, series] : shard->series) fn(std::string_view(key), *series);
    }
  }

 private:
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::unique_ptr<Series>, KeyHash, std::equal_to<>> series;
    std::string key;  // scratch: keys are built without allocating
    std::string_view last_key;  // the last series found (series are never removed)
    Series* last = nullptr;
  };

  Shard& this_thread_shard() {
    thread_local std::array<void*, detail::kMaxFamilies> mine{};
    void*& slot = mine[static_cast<std::size_t>(slot_)];
    if (slot == nullptr) {
      auto made = std::make_unique<Shard>();
      slot = made.get();
      std::lock_guard lock(mutex_);
      shards_.push_back(std::move(made));
    }
    return *static_cast<Shard*>(slot);
  }

  const int slot_;
  const std::size_t own_max_ = 0;                            // 0: max_series()
  std::atomic<std::uint64_t>* const own_overflows_ = nullptr;  // null: count_series_overflow()
  mutable std::mutex mutex_;  // guards shards_ (the list; each shard has its own)
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace portico::obs
