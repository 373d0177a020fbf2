#include "plugins/circuit-breaker/circuit_breaker.hpp"

#include <algorithm>
#include <spdlog/spdlog.h>

#include "plugin/counters.hpp"

namespace portico::plugins {
namespace {
// Published in GET /status.
std::atomic<std::uint64_t>& g_opened = plugin::counter("circuit_opened");
std::atomic<std::uint64_t>& g_rejected = plugin::counter("circuit_rejected");
}  // namespace

std::uint64_t CircuitBreaker::opened_total() { return g_opened.load(std::memory_order_relaxed); }

CircuitBreaker::CircuitBreaker(CircuitBreakerConfig config, std::string scope_name)
    : config_(std::move(config)), scope_name_(std::move(scope_name)) {
  auto window = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(config_.window_size));
  bucket_width_ = std::max<Clock::duration>(window / static_cast<int>(kBuckets), std::chrono::microseconds(1));
}

const char* CircuitBreaker::state_name(State s) {
  switch (s) {
    case State::closed: return "closed";
    case State::open: return "open";
    case State::half_open: return "half-open";
  }
  return "?";
}

bool CircuitBreaker::is_failure(int status, bool timed_out, bool connection_error) const {
  if (timed_out) return config_.count_timeouts;
  if (connection_error) return config_.count_connection_errors;
  return std::find(config_.failure_statuses.begin(), config_.failure_statuses.end(), status) !=
         config_.failure_statuses.end();
}

CircuitBreaker::Admission CircuitBreaker::admit(Clock::time_point now) {
  if (state_.load(std::memory_order_relaxed) == State::closed) return Admission::pass;
  std::lock_guard lock(mu_);
  State s = state_.load(std::memory_order_relaxed);
  if (s == State::closed) return Admission::pass;
  if (s == State::open) {
    auto open_for = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(config_.open_timeout));
    if (now - opened_at_ < open_for) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      g_rejected.fetch_add(1, std::memory_order_relaxed);
      return Admission::reject;
    }
    transition(State::half_open, now);
  }
  if (probes_admitted_ < config_.half_open_requests) {
    ++probes_admitted_;
    return Admission::probe;
  }
  rejected_.fetch_add(1, std::memory_order_relaxed);
  g_rejected.fetch_add(1, std::memory_order_relaxed);
  return Admission::reject;
}

void CircuitBreaker::record(Admission admission, bool failure, Clock::time_point now) {
  if (admission == Admission::reject) return;
  std::lock_guard lock(mu_);
  State s = state_.load(std::memory_order_relaxed);
  if (admission == Admission::probe) {
    if (s != State::half_open) return;  // a stale probe from an earlier half-open period
    if (failure) {
      transition(State::open, now);
    } else if (++probes_succeeded_ >= config_.half_open_requests) {
      transition(State::closed, now);
    }
    return;
  }
  if (s != State::closed) return;  // requests admitted before the circuit opened
  Bucket& b = bucket_for(now);
  ++b.requests;
  if (failure) ++b.failures;
  if (!failure) return;
  std::uint64_t requests = 0, failures = 0;
  std::int64_t current = b.index;
  for (const auto& bucket : buckets_) {
    if (bucket.index > current - static_cast<std::int64_t>(kBuckets) && bucket.index <= current) {
      requests += bucket.requests;
      failures += bucket.failures;
    }
  }
  bool by_count = config_.max_failures > 0 && failures >= static_cast<std::uint64_t>(config_.max_failures);
  bool by_ratio = config_.failure_ratio > 0 && requests >= static_cast<std::uint64_t>(config_.min_requests) &&
                  static_cast<double>(failures) >= config_.failure_ratio * static_cast<double>(requests);
  if (by_count || by_ratio) transition(State::open, now);
}

void CircuitBreaker::abandon(Admission admission) {
  if (admission != Admission::probe) return;
  std::lock_guard lock(mu_);
  if (state_.load(std::memory_order_relaxed) == State::half_open && probes_admitted_ > 0) --probes_admitted_;
}

CircuitBreaker::Bucket& CircuitBreaker::bucket_for(Clock::time_point now) {
  std::int64_t index = now.time_since_epoch() / bucket_width_;
  Bucket& b = buckets_[static_cast<std::size_t>(index) % kBuckets];
  if (b.index != index) b = Bucket{index, 0, 0};
  return b;
}

void CircuitBreaker::clear_window() { buckets_.fill(Bucket{}); }

void CircuitBreaker::transition(State to, Clock::time_point now) {
  State from = state_.load(std::memory_order_relaxed);
  state_.store(to, std::memory_order_relaxed);
  probes_admitted_ = 0;
  probes_succeeded_ = 0;
  if (to == State::open) {
    opened_at_ = now;
    times_opened_.fetch_add(1, std::memory_order_relaxed);
    g_opened.fetch_add(1, std::memory_order_relaxed);
  }
  if (to == State::closed) clear_window();
  auto log_level = to == State::open ? spdlog::level::warn : spdlog::level::info;
  spdlog::log(log_level, "circuit-breaker on {}: {} -> {}", scope_name_, state_name(from), state_name(to));
}

}  // namespace portico::plugins
