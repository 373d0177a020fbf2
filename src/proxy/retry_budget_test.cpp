#include "proxy/retry_budget.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace portico::proxy {
namespace {

constexpr std::int64_t kT0 = 1'000'000;  // an arbitrary steady-clock second

int withdraw_all(RetryBudget& b, std::int64_t now) {
  int n = 0;
  while (b.try_withdraw(now)) ++n;
  return n;
}

TEST(RetryBudget, TheReserveCoversABurstWithNoTraffic) {
  RetryBudget b(20, 10);
  EXPECT_DOUBLE_EQ(b.available(kT0), 100.0);  // 10 per second x 10 s window
  EXPECT_EQ(withdraw_all(b, kT0), 100);
  EXPECT_FALSE(b.try_withdraw(kT0));
  EXPECT_DOUBLE_EQ(b.available(kT0), 0.0);
}

TEST(RetryBudget, RequestsDepositTheirPercent) {
  RetryBudget b(20, 0);
  EXPECT_FALSE(b.try_withdraw(kT0));
  for (int i = 0; i < 1000; ++i) b.deposit(kT0);
  EXPECT_DOUBLE_EQ(b.available(kT0), 200.0);
  EXPECT_EQ(withdraw_all(b, kT0), 200);
  b.deposit(kT0);
  b.deposit(kT0);
  b.deposit(kT0);
  b.deposit(kT0);
  EXPECT_FALSE(b.try_withdraw(kT0));  // 4 x 0.2 is not a whole retry
  b.deposit(kT0);
  EXPECT_TRUE(b.try_withdraw(kT0));   // 5 x 0.2 is
}

TEST(RetryBudget, DepositsAndWithdrawalsExpireAfterTheWindow) {
  RetryBudget b(50, 0);
  for (int i = 0; i < 100; ++i) b.deposit(kT0);
  EXPECT_DOUBLE_EQ(b.available(kT0 + RetryBudget::kWindowSeconds - 1), 50.0);
  EXPECT_DOUBLE_EQ(b.available(kT0 + RetryBudget::kWindowSeconds), 0.0);

  // A spent reserve comes back once the withdrawals have aged out.
  RetryBudget r(0, 1);
  EXPECT_EQ(withdraw_all(r, kT0), 10);
  EXPECT_FALSE(r.try_withdraw(kT0 + 5));
  EXPECT_EQ(withdraw_all(r, kT0 + RetryBudget::kWindowSeconds), 10);
}

TEST(RetryBudget, SlotsOfAnEarlierWindowAreNotCounted) {
  RetryBudget b(100, 0);
  b.deposit(kT0);                                   // slot kT0 % 10
  b.deposit(kT0 + RetryBudget::kWindowSeconds);     // same slot, next window: starts over
  EXPECT_DOUBLE_EQ(b.available(kT0 + RetryBudget::kWindowSeconds), 1.0);
}

TEST(RetryBudget, ALateClockReadingDoesNotWipeANewerSecond) {
  RetryBudget b(100, 0);
  b.deposit(kT0 + RetryBudget::kWindowSeconds);
  b.deposit(kT0);  // same slot, a window older
  EXPECT_DOUBLE_EQ(b.available(kT0 + RetryBudget::kWindowSeconds), 1.0);
}

TEST(RetryBudget, SustainedTrafficAllowsItsShareEverySecond) {
  // 1000 requests a second, 20%: 200 retries a second keep being allowed; over any
  // window, that plus the reserve (1 a second x 10 s) and no more.
  RetryBudget b(20, 1);
  int allowed_last_window = 0;
  for (std::int64_t s = 0; s < 30; ++s) {
    for (int i = 0; i < 1000; ++i) b.deposit(kT0 + s);
    int got = withdraw_all(b, kT0 + s);
    if (s >= 20) allowed_last_window += got;
  }
  EXPECT_EQ(allowed_last_window, 10 * 200 + 10);
}

TEST(RetryBudget, ZeroPercentAndZeroReserveAllowNothing) {
  RetryBudget b(0, 0);
  for (int i = 0; i < 1000; ++i) b.deposit(kT0);
  EXPECT_FALSE(b.try_withdraw(kT0));
}

TEST(RetryBudget, ConcurrentWorkersStayWithinTheBudget) {
  RetryBudget b(10, 0);
  constexpr int kThreads = 4, kRequests = 100000;
  std::atomic<int> retries{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRequests; ++i) {
        b.deposit(kT0);
        if (b.try_withdraw(kT0)) retries.fetch_add(1);  // every request wants a retry
      }
    });
  }
  for (auto& t : threads) t.join();
  int budget = kThreads * kRequests / 10;
  EXPECT_LE(retries.load(), budget + kThreads);  // at most one overdraft per racing worker
  EXPECT_GE(retries.load(), budget - kThreads);
}

}  // namespace
}  // namespace portico::proxy
