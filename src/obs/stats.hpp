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

// The counters, declared once and instantiated twice: live Counters in each worker
// (WorkerStats) and plain totals summed over the workers for the admin API (StatsTotals).
template <typename T>
struct StatsFields {
  T connections_accepted{};
  T connections_handled{};
  T connections_active{};
  T connections_writing{};   // a request is being served (reading = active - writing - waiting)
  T connections_waiting{};
  T connections_parked{};    // of the waiting: parked, holding no coroutine frame or buffer
  T connections_refused{};   // over the per-worker or per-client-address connection limit
  T total_requests{};
  T responses_4xx{};
  T responses_5xx{};
  T bad_requests{};          // rejected by the HTTP/1 policy
  T tls_handshake_failures{};  // on ssl listeners: failed or timed out before a request
  T http2_connections{};       // connections that spoke HTTP/2 (ALPN h2 or h2c)
  T http2_abuse_closed{};      // HTTP/2 connections ended by a defence (floods, bombs, stalls)
  T upstream_connects{};
  T upstream_reused{};
  T upstream_retries{};
  T upstream_connect_failures{};
  T upstream_timeouts{};
  T upstream_invalid_responses{};  // malformed/ambiguous heads, early closes, broken bodies
  T retry_budget_exhausted{};      // retries refused by the retry budget
  T upstream_overflows{};          // requests shed by an upstream's max_* limits

  // Calls fn(field of a, same field of b) for every counter (a and b may differ in T).
  template <typename A, typename B, typename Fn>
  static void zip(A& a, B& b, Fn fn) {
    fn(a.connections_accepted, b.connections_accepted);
    fn(a.connections_handled, b.connections_handled);
    fn(a.connections_active, b.connections_active);
    fn(a.connections_writing, b.connections_writing);
    fn(a.connections_waiting, b.connections_waiting);
    fn(a.connections_parked, b.connections_parked);
    fn(a.connections_refused, b.connections_refused);
    fn(a.total_requests, b.total_requests);
    fn(a.responses_4xx, b.responses_4xx);
    fn(a.responses_5xx, b.responses_5xx);
    fn(a.bad_requests, b.bad_requests);
    fn(a.tls_handshake_failures, b.tls_handshake_failures);
    fn(a.http2_connections, b.http2_connections);
    fn(a.http2_abuse_closed, b.http2_abuse_closed);
    fn(a.upstream_connects, b.upstream_connects);
    fn(a.upstream_reused, b.upstream_reused);
    fn(a.upstream_retries, b.upstream_retries);
    fn(a.upstream_connect_failures, b.upstream_connect_failures);
    fn(a.upstream_timeouts, b.upstream_timeouts);
    fn(a.upstream_invalid_responses, b.upstream_invalid_responses);
    fn(a.retry_budget_exhausted, b.retry_budget_exhausted);
    fn(a.upstream_overflows, b.upstream_overflows);
  }
};

struct alignas(64) WorkerStats : StatsFields<Counter> {};

struct StatsTotals : StatsFields<std::uint64_t> {
  std::uint64_t connections_reading = 0;  // derived: active - writing - waiting (nginx's meaning)

  void add(const WorkerStats& worker) {
    zip(*this, worker, [](std::uint64_t& total, const Counter& c) { total += c.get(); });
  }
};

}  // namespace portico::obs
