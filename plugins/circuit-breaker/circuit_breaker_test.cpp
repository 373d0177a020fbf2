#include "plugins/circuit-breaker/circuit_breaker.hpp"

#include <gtest/gtest.h>

namespace portico::plugins {
namespace {

using Admission = CircuitBreaker::Admission;
using State = CircuitBreaker::State;
using namespace std::chrono_literals;

CircuitBreakerConfig count_config() {
  CircuitBreakerConfig c;
  c.max_failures = 3;
  c.window_size = 10;
  c.open_timeout = 5;
  c.half_open_requests = 2;
  return c;
}

TEST(CircuitBreaker, OpensAfterMaxFailuresWithinTheWindow) {
  CircuitBreaker cb(count_config(), "test");
  auto t = CircuitBreaker::Clock::now();
  for (int i = 0; i < 2; ++i) cb.record(cb.admit(t), true, t);
  cb.record(cb.admit(t), false, t);  // successes do not reset a count-in-window breaker
  EXPECT_EQ(cb.state(), State::closed);
  cb.record(cb.admit(t), true, t);
  EXPECT_EQ(cb.state(), State::open);
  EXPECT_EQ(cb.admit(t + 1s), Admission::reject);
  EXPECT_EQ(cb.times_opened(), 1u);
  EXPECT_EQ(cb.rejected(), 1u);
}

TEST(CircuitBreaker, FailuresOutsideTheWindowDoNotCount) {
  CircuitBreaker cb(count_config(), "test");
  auto t = CircuitBreaker::Clock::now();
  cb.record(cb.admit(t), true, t);
  cb.record(cb.admit(t), true, t);
  cb.record(cb.admit(t + 11s), true, t + 11s);
  EXPECT_EQ(cb.state(), State::closed);
}

TEST(CircuitBreaker, HalfOpensAfterTimeoutAndClosesWhenProbesSucceed) {
  CircuitBreaker cb(count_config(), "test");
  auto t = CircuitBreaker::Clock::now();
  for (int i = 0; i < 3; ++i) cb.record(cb.admit(t), true, t);
  ASSERT_EQ(cb.state(), State::open);
  EXPECT_EQ(cb.admit(t + 4s), Admission::reject);
  auto later = t + 6s;
  Admission p1 = cb.admit(later);
  Admission p2 = cb.admit(later);
  EXPECT_EQ(p1, Admission::probe);
  EXPECT_EQ(p2, Admission::probe);
  EXPECT_EQ(cb.state(), State::half_open);
  EXPECT_EQ(cb.admit(later), Admission::reject);  // only half_open_requests probes
  cb.record(p1, false, later);
  EXPECT_EQ(cb.state(), State::half_open);
  cb.record(p2, false, later);
  EXPECT_EQ(cb.state(), State::closed);
  EXPECT_EQ(cb.admit(later), Admission::pass);
}

TEST(CircuitBreaker, AFailedProbeReopens) {
  CircuitBreaker cb(count_config(), "test");
  auto t = CircuitBreaker::Clock::now();
  for (int i = 0; i < 3; ++i) cb.record(cb.admit(t), true, t);
  auto later = t + 6s;
  Admission p = cb.admit(later);
  ASSERT_EQ(p, Admission::probe);
  cb.record(p, true, later);
  EXPECT_EQ(cb.state(), State::open);
  EXPECT_EQ(cb.admit(later + 1s), Admission::reject);
  EXPECT_EQ(cb.admit(later + 6s), Admission::probe);
}

TEST(CircuitBreaker, AbandonedProbeFreesItsSlot) {
  auto c = count_config();
  c.half_open_requests = 1;
  CircuitBreaker cb(c, "test");
  auto t = CircuitBreaker::Clock::now();
  for (int i = 0; i < 3; ++i) cb.record(cb.admit(t), true, t);
  auto later = t + 6s;
  Admission p = cb.admit(later);
  ASSERT_EQ(p, Admission::probe);
  EXPECT_EQ(cb.admit(later), Admission::reject);
  cb.abandon(p);
  EXPECT_EQ(cb.admit(later), Admission::probe);
}

TEST(CircuitBreaker, RatioModeNeedsMinimumRequests) {
  CircuitBreakerConfig c;
  c.max_failures = 0;
  c.failure_ratio = 0.5;
  c.min_requests = 10;
  c.window_size = 60;
  CircuitBreaker cb(c, "test");
  auto t = CircuitBreaker::Clock::now();
  for (int i = 0; i < 5; ++i) cb.record(cb.admit(t), true, t);
  EXPECT_EQ(cb.state(), State::closed);  // 5 of 5 failed, but fewer than min_requests
  for (int i = 0; i < 4; ++i) cb.record(cb.admit(t), false, t);
  EXPECT_EQ(cb.state(), State::closed);  // 5/9 < min_requests
  cb.record(cb.admit(t), true, t);      // 6/10 >= 0.5
  EXPECT_EQ(cb.state(), State::open);
}

TEST(CircuitBreaker, FailureClassificationFollowsConfig) {
  auto c = count_config();
  c.count_timeouts = false;
  CircuitBreaker cb(c, "test");
  EXPECT_TRUE(cb.is_failure(503, false, false));
  EXPECT_FALSE(cb.is_failure(404, false, false));
  EXPECT_FALSE(cb.is_failure(504, true, false));
  EXPECT_TRUE(cb.is_failure(502, false, true));
}

}  // namespace
}  // namespace portico::plugins
