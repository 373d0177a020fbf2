// A service's retry budget: Finagle's deposit-and-withdraw model (also Linkerd's).
//
// Every request proxied to the service deposits `percent`% of a retry; every budgeted
// retry withdraws one whole retry. On top of the deposits sits a constant reserve of
// `min_per_second` retries per second of the window, so a service with little or
// suddenly rising traffic can still retry a burst of failures (a target dying under
// load fails every request in flight on it at once). Deposits and withdrawals expire
// after kWindowSeconds, so the budget follows recent traffic: a retry is allowed only
// while the retries of the last window are fewer than percent% of the requests of the
// last window plus min_per_second x kWindowSeconds.
//
// Shared by every worker for the service (the snapshot builder keeps one per service
// and budget settings, across reloads). Lock-free: one atomic word per one-second slice.
// A withdrawal checks the balance then takes from it, so workers racing on the last
// token can overdraw by at most one retry each, never more.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace portico::proxy {

class RetryBudget {
 public:
  static constexpr int kWindowSeconds = 10;

  // `percent`: 0..100; `min_per_second`: >= 0.
  RetryBudget(int percent, int min_per_second);

  // `now_s` is any monotonic count of seconds (the caller's clock; tests pass their own).
  void deposit(std::int64_t now_s);                 // once per request
  bool try_withdraw(std::int64_t now_s);            // once per retry; false: spent, nothing taken
  double available(std::int64_t now_s) const;      // retries the budget would allow now

 private:
  // A retry is kUnit; a request deposits `percent` units of it (exact integers).
  static constexpr std::int64_t kUnit = 100;
  // One second of deposits or withdrawals: the second (high 32 bits) and units (low 32).
  using Slices = std::array<std::atomic<std::uint64_t>, kWindowSeconds>;

  static void add(Slices& slices, std::int64_t now_s, std::uint32_t units);
  static std::int64_t sum(const Slices& slices, std::int64_t now_s);
  std::int64_t balance(std::int64_t now_s) const;

  const std::uint32_t deposit_units_;
  const std::int64_t reserve_units_;
  Slices deposits_{};
  Slices withdrawals_{};
};

}  // namespace portico::proxy
