// The circuit-breaker plugin's state machine (one per service or route, shared by all
// workers).
//
//   closed ──(failures reach max_failures, or the failure ratio, within window_size)──► open
//   open ──(open_timeout elapsed)──► half-open: up to half_open_requests probes pass
//   half-open ──(a probe fails)──► open;  ──(every probe succeeded)──► closed
//
// While open (and for requests beyond the probes while half-open) the proxy answers at
// once without touching the upstream. The closed-state admission is one atomic load.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "config/model.hpp"
#include "plugin/plugin.hpp"

namespace portico::plugins {

// The `circuit-breaker` plugin (Portico's; scope: service or route). Durations in seconds.
struct CircuitBreakerConfig : plugin::ParsedConfig {
  int max_failures = 5;          // failures within window_size that open the circuit; 0: off
  double window_size = 60;       // seconds
  double failure_ratio = 0;      // 0 < r <= 1: open when failures/requests >= r ...
  int min_requests = 20;         // ... once the window holds at least this many requests
  double open_timeout = 30;      // seconds open before probes are let through
  int half_open_requests = 1;    // probes in half-open; all must succeed to close
  std::vector<int> failure_statuses{500, 502, 503, 504};
  bool count_timeouts = true;
  bool count_connection_errors = true;
  int error_status = 503;
  std::string error_message = "circuit breaker is open";
};


class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State { closed, open, half_open };
  enum class Admission { pass, probe, reject };

  CircuitBreaker(CircuitBreakerConfig config, std::string scope_name);

  const CircuitBreakerConfig& config() const { return config_; }
  const std::string& scope_name() const { return scope_name_; }
  State state() const { return state_.load(std::memory_order_relaxed); }
  static const char* state_name(State s);

  // Decides whether one request may go to the upstream.
  Admission admit(Clock::time_point now);
  // The outcome of an admitted request (`failure` as the config defines it).
  void record(Admission admission, bool failure, Clock::time_point now);
  // An admitted request ended without an upstream outcome (the client went away): a
  // probe's slot is given back so half-open cannot wait forever.
  void abandon(Admission admission);
  // Whether an outcome counts as a failure under this breaker's config.
  bool is_failure(int status, bool timed_out, bool connection_error) const;

  std::uint64_t times_opened() const { return times_opened_.load(std::memory_order_relaxed); }
  // Circuits opened since the process started, all breakers (GET /status).
  static std::uint64_t opened_total();
  std::uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kBuckets = 10;  // the window slides in tenths
  struct Bucket {
    std::int64_t index = -1;  // which tenth of time this bucket counts
    std::uint32_t requests = 0;
    std::uint32_t failures = 0;
  };
  void transition(State to, Clock::time_point now);  // mu_ held
  Bucket& bucket_for(Clock::time_point now);          // mu_ held
  void clear_window();                                // mu_ held

  CircuitBreakerConfig config_;
  std::string scope_name_;
  Clock::duration bucket_width_;
  std::atomic<State> state_{State::closed};
  std::mutex mu_;
  std::array<Bucket, kBuckets> buckets_{};
  Clock::time_point opened_at_{};
  int probes_admitted_ = 0;
  int probes_succeeded_ = 0;
  std::atomic<std::uint64_t> times_opened_{0};
  std::atomic<std::uint64_t> rejected_{0};
};

}  // namespace portico::plugins
