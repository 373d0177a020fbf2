// Per-worker counters. Each worker writes only its own shard (single writer, relaxed
// stores: no locked instructions on the hot path); the admin API sums the shards.
#pragma once

#include <atomic>
#include <cstdint>

namespace portico::obs {

class Counter {
 public:
  void add(std::uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(std::uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  std::uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

// Counts something for as long as the scope lives (exception-safe).
class CounterScope {
 public:
  explicit CounterScope(Counter& c) : c_(c) { c_.add(); }
  ~CounterScope() { c_.sub(); }
  CounterScope(const CounterScope&) = delete;
  CounterScope& operator=(const CounterScope&) = delete;

 private:
  Counter& c_;
};

struct alignas(64) WorkerStats {
  Counter connections_accepted;
  Counter connections_handled;
  Counter connections_active;
  Counter connections_writing;   // a request is being served (reading = active - writing - waiting)
  Counter connections_waiting;
  Counter connections_refused;   // over the per-worker connection limit
  Counter total_requests;
  Counter responses_4xx;
  Counter responses_5xx;
  Counter bad_requests;          // rejected by the HTTP/1 policy
  Counter upstream_connects;
  Counter upstream_reused;
  Counter upstream_retries;
  Counter upstream_connect_failures;
  Counter upstream_timeouts;
  Counter upstream_invalid_responses;  // malformed/ambiguous heads, early closes, broken bodies
};

}  // namespace portico::obs
