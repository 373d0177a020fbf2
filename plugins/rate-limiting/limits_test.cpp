// The algorithms against a clock the test drives.
#include "plugins/rate-limiting/limits.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "plugins/rate-limiting/local_counters.hpp"

namespace portico::plugins::ratelimit {
namespace {

constexpr std::int64_t kMinute = 60000;
// 2024-02-29T23:59:00Z, a leap day one minute before a month's end.
constexpr std::int64_t kLeapDayEnd = 1709251140000;

int admitted(KeyState& state, Algorithm algorithm, const std::vector<WindowLimit>& limits, std::int64_t now,
             int attempts) {
  int n = 0;
  Decision d;
  for (int i = 0; i < attempts; ++i) {
    state.take(algorithm, limits, now, d);
    n += d.allowed ? 1 : 0;
  }
  return n;
}

TEST(RateLimitWindows, AreCalendarAlignedInUtc) {
  EXPECT_EQ(window_of(Period::minute, kLeapDayEnd + 30000).start, kLeapDayEnd);
  EXPECT_EQ(window_of(Period::minute, kLeapDayEnd + 30000).end, kLeapDayEnd + kMinute);
  Bounds month = window_of(Period::month, kLeapDayEnd);
  EXPECT_EQ(month.start, 1706745600000);  // 2024-02-01
  EXPECT_EQ(month.end, 1709251200000);    // 2024-03-01: February 2024 has 29 days
  Bounds year = window_of(Period::year, kLeapDayEnd);
  EXPECT_EQ(year.start, 1704067200000);  // 2024-01-01
  EXPECT_EQ(year.end, 1735689600000);    // 2025-01-01
  EXPECT_EQ(window_of(Period::day, kLeapDayEnd).start, 1709164800000);
  EXPECT_EQ(window_of(Period::month, 1735689599999).start, 1733011200000);  // 2024-12-31 23:59:59.999 in December
}

TEST(RateLimitFixedWindow, CountsDownThenRefusesUntilTheWindowEnds) {
  std::vector<WindowLimit> limits{{Period::minute, 3, 3}};
  KeyState state(1);
  Decision d;
  const std::int64_t t = kLeapDayEnd + 15000;  // 45 s before the minute ends
  for (int expected_remaining : {2, 1, 0}) {
    state.take(Algorithm::fixed_window, limits, t, d);
    ASSERT_TRUE(d.allowed);
    EXPECT_EQ(d.windows[0].remaining, expected_remaining);
    EXPECT_EQ(d.windows[0].limit, 3);
    EXPECT_EQ(d.windows[0].reset_s, 45);
  }
  state.take(Algorithm::fixed_window, limits, t + 500, d);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.windows[0].remaining, 0);
  EXPECT_EQ(d.retry_after_s, 45);  // 44.5 s, rounded up
  state.take(Algorithm::fixed_window, limits, kLeapDayEnd + kMinute, d);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.windows[0].remaining, 2);
  EXPECT_EQ(d.windows[0].reset_s, 60);
}

// The fixed window's weakness: `limit` just before a boundary and `limit` just after. The
// sliding algorithms and the token bucket refuse the second burst.
TEST(RateLimitAlgorithms, TheBoundaryDoubleBurstOnlyPassesTheFixedWindow) {
  std::vector<WindowLimit> limits{{Period::minute, 10, 10}};
  const std::int64_t before = kLeapDayEnd + kMinute - 100;
  const std::int64_t after = kLeapDayEnd + kMinute + 100;
  struct Case {
    Algorithm algorithm;
    int second_burst;
  };
  for (Case c : {Case{Algorithm::fixed_window, 10}, Case{Algorithm::sliding_window, 0},
                 Case{Algorithm::sliding_log, 0}, Case{Algorithm::token_bucket, 0}}) {
    KeyState state(1);
    EXPECT_EQ(admitted(state, c.algorithm, limits, before, 10), 10) << static_cast<int>(c.algorithm);
    EXPECT_EQ(admitted(state, c.algorithm, limits, after, 10), c.second_burst) << static_cast<int>(c.algorithm);
  }
}

TEST(RateLimitSlidingWindow, ThePreviousWindowWeighsByItsOverlap) {
  std::vector<WindowLimit> limits{{Period::minute, 10, 10}};
  KeyState state(1);
  const std::int64_t start = kLeapDayEnd;
  EXPECT_EQ(admitted(state, Algorithm::sliding_window, limits, start + 1000, 10), 10);
  // Half-way through the next window the previous one counts for 5: room for 5 more.
  EXPECT_EQ(admitted(state, Algorithm::sliding_window, limits, start + kMinute + 30000, 10), 5);
  Decision d;
  state.take(Algorithm::sliding_window, limits, start + kMinute + 30000, d);
  EXPECT_FALSE(d.allowed);
  // Current 5 + previous 10 x (1 - e/60) <= 9 when e >= 36 s: 6 s from now.
  EXPECT_EQ(d.retry_after_s, 6);
  state.take(Algorithm::sliding_window, limits, start + kMinute + 36001, d);
  EXPECT_TRUE(d.allowed);
  // Two windows later nothing is left: the key is idle.
  EXPECT_TRUE(state.idle(Algorithm::sliding_window, limits, start + 3 * kMinute));
}

TEST(RateLimitSlidingLog, IsExactOverTheLastPeriod) {
  std::vector<WindowLimit> limits{{Period::second, 3, 3}};
  KeyState state(1);
  Decision d;
  const std::int64_t t = kLeapDayEnd;
  for (std::int64_t at : {t, t + 100, t + 200}) {
    state.take(Algorithm::sliding_log, limits, at, d);
    EXPECT_TRUE(d.allowed);
  }
  state.take(Algorithm::sliding_log, limits, t + 300, d);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_s, 1);
  state.take(Algorithm::sliding_log, limits, t + 999, d);
  EXPECT_FALSE(d.allowed);
  state.take(Algorithm::sliding_log, limits, t + 1000, d);  // the first admission left the log
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.windows[0].remaining, 0);
  state.take(Algorithm::sliding_log, limits, t + 1050, d);
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(state.idle(Algorithm::sliding_log, limits, t + 1500));
  EXPECT_TRUE(state.idle(Algorithm::sliding_log, limits, t + 2000));
}

TEST(RateLimitTokenBucket, BurstsThenRefillsAtTheRate) {
  std::vector<WindowLimit> limits{{Period::minute, 60, 5}};  // one token a second, five at most
  KeyState state(1);
  const std::int64_t t = kLeapDayEnd;
  EXPECT_EQ(admitted(state, Algorithm::token_bucket, limits, t, 10), 5);
  Decision d;
  state.take(Algorithm::token_bucket, limits, t + 500, d);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_s, 1);
  state.take(Algorithm::token_bucket, limits, t + 1000, d);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.windows[0].remaining, 0);
  EXPECT_EQ(admitted(state, Algorithm::token_bucket, limits, t + 4000, 10), 3);
  EXPECT_FALSE(state.idle(Algorithm::token_bucket, limits, t + 5000));
  EXPECT_TRUE(state.idle(Algorithm::token_bucket, limits, t + 9000));  // full again
}

TEST(RateLimitTokenBucket, AClockSteppedBackRefillsAndTakesNothing) {
  std::vector<WindowLimit> limits{{Period::minute, 60, 5}};
  KeyState state(1);
  const std::int64_t t = kLeapDayEnd;
  EXPECT_EQ(admitted(state, Algorithm::token_bucket, limits, t, 3), 3);
  // Ten minutes back: still the 2 tokens left, not -598.
  EXPECT_EQ(admitted(state, Algorithm::token_bucket, limits, t - 600000, 5), 2);
  EXPECT_EQ(admitted(state, Algorithm::token_bucket, limits, t + 1000, 5), 1);  // one more a second later
}

TEST(RateLimitWindows, EveryWindowMustHoldAndARefusalCountsInNone) {
  std::vector<WindowLimit> limits{{Period::second, 2, 2}, {Period::minute, 3, 3}};
  KeyState state(2);
  const std::int64_t t = kLeapDayEnd;
  Decision d;
  EXPECT_EQ(admitted(state, Algorithm::fixed_window, limits, t, 5), 2);  // the second's limit
  state.take(Algorithm::fixed_window, limits, t + 1000, d);
  EXPECT_TRUE(d.allowed);  // the minute had 2, not 5: refusals did not count
  EXPECT_EQ(d.windows[0].remaining, 1);
  EXPECT_EQ(d.windows[1].remaining, 0);
  state.take(Algorithm::fixed_window, limits, t + 1100, d);
  EXPECT_FALSE(d.allowed);  // the minute's limit now
  EXPECT_EQ(d.windows[0].remaining, 1);  // not counted in the second (Kong's headers say so too)
  EXPECT_EQ(d.windows[1].remaining, 0);
  EXPECT_EQ(d.retry_after_s, 59);
}

TEST(RateLimitLocalCounters, AdmitExactlyTheLimitFromManyThreads) {
  std::vector<WindowLimit> limits{{Period::hour, 5000, 5000}};
  LocalCounters counters(Algorithm::fixed_window, 1, 100000);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      Decision d;
      for (int i = 0; i < 2000; ++i) {
        counters.take("consumer-1", limits, kLeapDayEnd, d);
        if (d.allowed) allowed.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 5000);
  EXPECT_EQ(counters.keys(), 1u);
}

TEST(RateLimitLocalCounters, KeysAreBoundedAndIdleOnesSwept) {
  std::vector<WindowLimit> limits{{Period::second, 10, 10}};
  LocalCounters counters(Algorithm::fixed_window, 1, 640);  // 10 per shard
  Decision d;
  for (int i = 0; i < 100000; ++i) counters.take("client-" + std::to_string(i), limits, kLeapDayEnd, d);
  EXPECT_LE(counters.keys(), 640u);
  EXPECT_GT(counters.evictions(), 90000u);
  // A second later every window has passed: the sweep drops them all.
  std::size_t before = counters.keys();
  EXPECT_EQ(counters.sweep(limits, kLeapDayEnd + 999), 0u);  // still in their window
  EXPECT_EQ(counters.sweep(limits, kLeapDayEnd + 1000), before);
  EXPECT_EQ(counters.keys(), 0u);
}

}  // namespace
}  // namespace portico::plugins::ratelimit
