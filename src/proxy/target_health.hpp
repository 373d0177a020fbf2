// Health and load of one upstream address (a target's resolved ip:port), shared by every
// worker and by the control thread's active health checker. Lives outside snapshots (in
// the SharedStateRegistry) so a reload that keeps the upstream keeps what was learnt.
//
// Counting follows Kong's (lua-resty-healthcheck) rules: consecutive successes and
// consecutive failures of each kind; a healthy address turns unhealthy when one failure
// counter reaches its threshold, an unhealthy one turns healthy when successes reach
// theirs. A threshold of 0 disables that counter. Active probes and passive observations
// feed the same counters, each with its own thresholds.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "config/model.hpp"

namespace portico::proxy {

enum class HealthEvent { success, http_failure, tcp_failure, timeout };

// How a response status counts: failure, success, or not at all.
enum class StatusVerdict { success, failure, neutral };
StatusVerdict classify_status(int status, const config::HealthyRule& healthy, const config::UnhealthyRule& unhealthy);

class TargetHealth {
 public:
  using Clock = std::chrono::steady_clock;

  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  // Records one observation; returns true when it changed the health state.
  bool report(HealthEvent event, const config::HealthyRule& healthy, const config::UnhealthyRule& unhealthy);
  // Health state changes since the process started (all targets, passive and active).
  static std::uint64_t transitions_total();
  // Sets the state directly (resets the counters).
  void set_healthy(bool healthy);

  // nginx's fail_timeout: an unhealthy address is due for one trial request once
  // `after_ns` passed since it was marked unhealthy or last tried; claim_trial() lets
  // exactly one caller (any worker) have it.
  bool trial_due(std::int64_t now_ns, std::int64_t after_ns) const;
  bool claim_trial(std::int64_t now_ns, std::int64_t after_ns);

  // Requests in flight to this address, across workers (least-connections, latency).
  std::atomic<std::int32_t> in_flight{0};

  // Peak-EWMA response latency (Finagle/Linkerd): a slower sample is taken at once, a
  // faster one decays in with time constant `kDecay`.
  void observe_latency(std::chrono::microseconds sample, Clock::time_point now);
  double latency_us() const { return ewma_us_.load(std::memory_order_relaxed); }
  // The latency estimate as of `now`: it also decays while no sample arrives, so an
  // address that was slow once is tried again after a while instead of never.
  double latency_us_at(Clock::time_point now) const;
  static constexpr std::chrono::seconds kDecay{10};

 private:
  std::atomic<bool> healthy_{true};
  std::atomic<bool> counting_{false};  // some failure counter is non-zero (success fast path)
  std::mutex mu_;                      // guards the counters below
  int successes_ = 0;
  int http_failures_ = 0;
  int tcp_failures_ = 0;
  int timeouts_ = 0;
  std::atomic<std::int64_t> last_trial_ns_{0};  // marked unhealthy, or last trial request
  std::atomic<double> ewma_us_{0};
  std::atomic<std::int64_t> ewma_stamp_ns_{0};
};

}  // namespace portico::proxy
