#include "proxy/target_health.hpp"

#include <algorithm>
#include <cmath>

namespace portico::proxy {
namespace {
std::atomic<std::uint64_t> g_transitions{0};
}

std::uint64_t TargetHealth::transitions_total() { return g_transitions.load(std::memory_order_relaxed); }

namespace {
std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(TargetHealth::Clock::now().time_since_epoch()).count();
}
}  // namespace

bool TargetHealth::trial_due(std::int64_t now, std::int64_t after_ns) const {
  return !healthy() && now - last_trial_ns_.load(std::memory_order_relaxed) >= after_ns;
}

bool TargetHealth::claim_trial(std::int64_t now, std::int64_t after_ns) {
  std::int64_t last = last_trial_ns_.load(std::memory_order_relaxed);
  if (healthy() || now - last < after_ns) return false;
  return last_trial_ns_.compare_exchange_strong(last, now, std::memory_order_relaxed);
}

StatusVerdict classify_status(int status, const config::HealthyRule& healthy, const config::UnhealthyRule& unhealthy) {
  if (std::find(unhealthy.http_statuses.begin(), unhealthy.http_statuses.end(), status) != unhealthy.http_statuses.end()) {
    return StatusVerdict::failure;
  }
  if (std::find(healthy.http_statuses.begin(), healthy.http_statuses.end(), status) != healthy.http_statuses.end()) {
    return StatusVerdict::success;
  }
  return StatusVerdict::neutral;
}

bool TargetHealth::report(HealthEvent event, const config::HealthyRule& healthy, const config::UnhealthyRule& unhealthy) {
  // The common case, a success on a healthy address with nothing counted, takes no lock.
  if (event == HealthEvent::success && healthy_.load(std::memory_order_relaxed) &&
      !counting_.load(std::memory_order_relaxed)) {
    return false;
  }
  std::lock_guard lock(mu_);
  bool was_healthy = healthy_.load(std::memory_order_relaxed);
  if (event == HealthEvent::success) {
    http_failures_ = tcp_failures_ = timeouts_ = 0;
    counting_.store(false, std::memory_order_relaxed);
    ++successes_;
    if (!was_healthy && healthy.successes > 0 && successes_ >= healthy.successes) {
      healthy_.store(true, std::memory_order_relaxed);
      successes_ = 0;
      g_transitions.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    return false;
  }
  successes_ = 0;
  counting_.store(true, std::memory_order_relaxed);
  int count = 0, threshold = 0;
  switch (event) {
    case HealthEvent::http_failure: count = ++http_failures_; threshold = unhealthy.http_failures; break;
    case HealthEvent::tcp_failure: count = ++tcp_failures_; threshold = unhealthy.tcp_failures; break;
    case HealthEvent::timeout: count = ++timeouts_; threshold = unhealthy.timeouts; break;
    case HealthEvent::success: break;
  }
  if (was_healthy && threshold > 0 && count >= threshold) {
    last_trial_ns_.store(now_ns(), std::memory_order_relaxed);
    healthy_.store(false, std::memory_order_relaxed);
    http_failures_ = tcp_failures_ = timeouts_ = 0;
    g_transitions.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  return false;
}

void TargetHealth::set_healthy(bool healthy) {
  std::lock_guard lock(mu_);
  if (!healthy) last_trial_ns_.store(now_ns(), std::memory_order_relaxed);
  healthy_.store(healthy, std::memory_order_relaxed);
  successes_ = http_failures_ = tcp_failures_ = timeouts_ = 0;
  counting_.store(false, std::memory_order_relaxed);
}

double TargetHealth::latency_us_at(Clock::time_point now) const {
  double current = ewma_us_.load(std::memory_order_relaxed);
  if (current == 0) return 0;
  std::int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  double idle = static_cast<double>(std::max<std::int64_t>(0, now_ns - ewma_stamp_ns_.load(std::memory_order_relaxed)));
  return current * std::exp(-idle / std::chrono::duration<double, std::nano>(kDecay).count());
}

void TargetHealth::observe_latency(std::chrono::microseconds sample, Clock::time_point now) {
  double value = static_cast<double>(sample.count());
  std::int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::int64_t last_ns = ewma_stamp_ns_.exchange(now_ns, std::memory_order_relaxed);
  double current = ewma_us_.load(std::memory_order_relaxed);
  if (last_ns == 0 || value > current) {
    ewma_us_.store(value, std::memory_order_relaxed);  // peak: slow samples count at once
    return;
  }
  double elapsed = static_cast<double>(std::max<std::int64_t>(0, now_ns - last_ns));
  double w = std::exp(-elapsed / std::chrono::duration<double, std::nano>(kDecay).count());
  ewma_us_.store(current * w + value * (1 - w), std::memory_order_relaxed);
}

}  // namespace portico::proxy
