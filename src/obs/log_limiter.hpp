// Rate limit for warning lines on the request path: a sick upstream under load must not
// turn into a log flood. Each worker owns one limiter (no locking).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace portico::obs {

class LogLimiter {
 public:
  static constexpr int kLinesPerSecond = 10;

  // True when a line may be written now; otherwise the line is counted as suppressed.
  bool allow() {
    auto now = std::chrono::steady_clock::now();
    if (now - window_start_ >= std::chrono::seconds(1)) {
      window_start_ = now;
      used_ = 0;
    }
    if (used_ < kLinesPerSecond) {
      ++used_;
      return true;
    }
    ++suppressed_;
    return false;
  }
  // Lines suppressed since the last call (to mention in the next line written).
  std::uint64_t take_suppressed() {
    auto n = suppressed_;
    suppressed_ = 0;
    return n;
  }

 private:
  std::chrono::steady_clock::time_point window_start_{};
  int used_ = 0;
  std::uint64_t suppressed_ = 0;
};

// At most one line a second, whichever thread asks: for failures of something every worker
// uses (a Redis server), counted elsewhere, where one line a second says enough.
class OncePerSecond {
 public:
  bool allow() {
    auto now_s =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
    std::int64_t last = last_s_.load(std::memory_order_relaxed);
    return now_s != last && last_s_.compare_exchange_strong(last, now_s);
  }

 private:
  std::atomic<std::int64_t> last_s_{-1};
};

}  // namespace portico::obs
