// RAII hold on a shared atomic counter.
#pragma once

#include <atomic>
#include <cstdint>

namespace portico::proxy {

// Holds one unit of a shared counter for as long as it lives (in-flight requests,
// active retries, limits).
class CounterHold {
 public:
  CounterHold() = default;
  CounterHold(const CounterHold&) = delete;
  CounterHold& operator=(const CounterHold&) = delete;
  ~CounterHold() { release(); }
  void hold(std::atomic<std::int32_t>& counter) {
    release();
    counter_ = &counter;
    counter.fetch_add(1, std::memory_order_relaxed);
  }
  void release() {
    if (counter_ != nullptr) counter_->fetch_sub(1, std::memory_order_relaxed);
    counter_ = nullptr;
  }
  bool held() const { return counter_ != nullptr; }

 private:
  std::atomic<std::int32_t>* counter_ = nullptr;
};

}  // namespace portico::proxy
