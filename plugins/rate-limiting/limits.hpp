// The rate-limiting algorithms, for one key, against a clock the caller passes in (unit tests
// drive it; the plugin passes the system clock). Pure data, no locking: the callers hold the
// key's lock (local_counters.hpp) or run the same logic inside Redis (redis_script.hpp).
//
// A key has one state per configured window (second ... year); a request is admitted only if
// every window admits it, and then it counts in every window (all or nothing, so a request
// refused by the hour does not use up the minute).
//
//   fixed-window    Kong's: a counter per calendar-aligned window (UTC). 16 bytes per window.
//                   At a boundary a client can pass `limit` requests just before it and `limit`
//                   just after: twice the limit within a short span.
//   sliding-window  the current window's count plus the previous one's weighted by how much of
//                   it still overlaps the last `period` (Cloudflare's estimate). 24 bytes per
//                   window; smooths the boundary burst, may be off by the unevenness of the
//                   previous window's traffic.
//   sliding-log     one timestamp per admitted request in the last `period`: exact, at 8 bytes
//                   per admitted request (limits above kMaxLogLimit are refused by the schema).
//   token-bucket    `burst` tokens (default: the limit), refilled at limit/period per second:
//                   smooth admission with bursts up to `burst`. 16 bytes per window.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace portico::plugins::ratelimit {

enum class Period { second, minute, hour, day, month, year };
inline constexpr std::array<Period, 6> kPeriods{Period::second, Period::minute, Period::hour,
                                                Period::day,    Period::month,  Period::year};
std::string_view period_name(Period p);         // "minute" (Kong's config field)
std::string_view period_header_name(Period p);  // "Minute" (X-RateLimit-Limit-Minute)

enum class Algorithm { fixed_window, sliding_window, sliding_log, token_bucket };
Algorithm parse_algorithm(std::string_view name);  // the config's one_of names

inline constexpr std::int64_t kMaxLogLimit = 100000;
inline constexpr std::int64_t kMaxLocalLogEntries = 50000000;  // limit x keys, local sliding-log (400 MB)

// The window [start, end) of `period` that holds `now` (milliseconds since the epoch, UTC):
// calendar-aligned, as Kong's timestamps are (months and years by the calendar).
struct Bounds {
  std::int64_t start, end;
};
Bounds window_of(Period period, std::int64_t now_ms);
// The nominal length of a period in milliseconds (a month is 30 days, a year 365, as Kong's
// expiration table): what the sliding algorithms and the token bucket use.
std::int64_t period_length_ms(Period period);

// A wait or reset in the headers: whole seconds rounded up, at least 1 (a header saying "0 s"
// would invite a retry storm).
std::int64_t seconds_up(double ms);

struct WindowLimit {
  Period period;
  std::int64_t limit;  // requests per period
  std::int64_t burst;  // token-bucket capacity (>= 1)
};

// One window's figures after a decision, for the response headers.
struct WindowReport {
  std::int64_t limit = 0;
  std::int64_t remaining = 0;  // after this request (0 when refused)
  std::int64_t reset_s = 0;    // seconds until the window admits `limit` again (>= 1)
};

struct Decision {
  bool allowed = true;
  std::int64_t retry_after_s = 0;  // when refused: seconds until a request would be admitted (>= 1)
  std::vector<WindowReport> windows;  // parallel to the limits
};

// One window's state of one key.
struct WindowState {
  std::int64_t start = 0;     // fixed/sliding: the current window's start; token bucket: last refill
  std::int64_t count = 0;     // fixed/sliding: admitted in the current window
  std::int64_t previous = 0;  // sliding: admitted in the previous window
  double tokens = 0;          // token bucket
  bool touched = false;       // token bucket: false means full
  // sliding-log: admission times, oldest first, from log_head on (a vector, not a deque: an
  // empty deque costs ~600 bytes, and most keys of the other algorithms never use it).
  std::vector<std::int64_t> log;
  std::size_t log_head = 0;
};

// Every window of one key.
class KeyState {
 public:
  explicit KeyState(std::size_t windows) : windows_(windows) {}
  // Admits (and counts) the request if every window has room; fills `out` in both cases.
  void take(Algorithm algorithm, const std::vector<WindowLimit>& limits, std::int64_t now_ms, Decision& out);
  // True when the key's state is the same as a key never seen (it can be dropped).
  bool idle(Algorithm algorithm, const std::vector<WindowLimit>& limits, std::int64_t now_ms) const;

 private:
  std::vector<WindowState> windows_;
};

}  // namespace portico::plugins::ratelimit
