#include "proxy/retry_budget.hpp"

#include <algorithm>

namespace portico::proxy {

RetryBudget::RetryBudget(int percent, int min_per_second)
    : deposit_units_(static_cast<std::uint32_t>(std::clamp(percent, 0, 100))),
      reserve_units_(static_cast<std::int64_t>(std::max(min_per_second, 0)) * kWindowSeconds * kUnit) {}

void RetryBudget::add(Slices& slices, std::int64_t now_s, std::uint32_t units) {
  auto second = static_cast<std::uint32_t>(now_s);
  auto& slot = slices[static_cast<std::size_t>(now_s % kWindowSeconds)];
  std::uint64_t current = slot.load(std::memory_order_relaxed);
  for (;;) {
    auto slot_second = static_cast<std::uint32_t>(current >> 32);
    // A caller whose clock reading is a window late (it was descheduled) must not wipe a
    // newer second: its amount would be expired already.
    if (static_cast<std::int32_t>(slot_second - second) > 0) return;
    std::uint64_t value = static_cast<std::uint32_t>(current);
    if (slot_second != second) value = 0;  // a slot left from an earlier window starts over
    value = std::min<std::uint64_t>(value + units, UINT32_MAX);
    std::uint64_t next = (static_cast<std::uint64_t>(second) << 32) | value;
    if (slot.compare_exchange_weak(current, next, std::memory_order_relaxed)) return;
  }
}

std::int64_t RetryBudget::sum(const Slices& slices, std::int64_t now_s) {
  auto now = static_cast<std::uint32_t>(now_s);
  std::int64_t total = 0;
  for (const auto& slot : slices) {
    std::uint64_t packed = slot.load(std::memory_order_relaxed);
    auto age = static_cast<std::uint32_t>(now - static_cast<std::uint32_t>(packed >> 32));
    if (age < kWindowSeconds) total += static_cast<std::uint32_t>(packed);
  }
  return total;
}

std::int64_t RetryBudget::balance(std::int64_t now_s) const {
  return reserve_units_ + sum(deposits_, now_s) - sum(withdrawals_, now_s);
}

void RetryBudget::deposit(std::int64_t now_s) {
  if (deposit_units_ > 0) add(deposits_, now_s, deposit_units_);
}

bool RetryBudget::try_withdraw(std::int64_t now_s) {
  if (balance(now_s) < kUnit) return false;
  add(withdrawals_, now_s, kUnit);
  return true;
}

double RetryBudget::available(std::int64_t now_s) const {
  return static_cast<double>(std::max<std::int64_t>(balance(now_s), 0)) / kUnit;
}

}  // namespace portico::proxy
