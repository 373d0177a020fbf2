#include "plugins/rate-limiting/limits.hpp"

#include <algorithm>
#include <cmath>

namespace portico::plugins::ratelimit {
namespace {

constexpr std::int64_t kDayMs = 86400000;

// Days since 1970-01-01 <-> civil date (Howard Hinnant's algorithms, proleptic Gregorian, UTC).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

struct Room {
  bool allowed;
  double used;           // requests counted against the limit now (an estimate for sliding-window)
  double wait_ms;        // when refused: until one request would be admitted
  double reset_ms;       // until the window admits `limit` again
};

// Brings a window's state up to `now` (rolls windows, drops old log entries, refills
// tokens) and says whether it has room for one more request. Does not count the request.
Room refresh(Algorithm algorithm, const WindowLimit& w, WindowState& st, std::int64_t now) {
  const std::int64_t limit = w.limit;
  switch (algorithm) {
    case Algorithm::fixed_window: {
      Bounds b = window_of(w.period, now);
      if (st.start != b.start) {
        st.start = b.start;
        st.count = 0;
      }
      double reset = static_cast<double>(b.end - now);
      return {st.count < limit, static_cast<double>(st.count), reset, reset};
    }
    case Algorithm::sliding_window: {
      const std::int64_t len = period_length_ms(w.period);
      const std::int64_t slot = floor_div(now, len) * len;
      if (slot != st.start) {
        st.previous = slot == st.start + len ? st.count : 0;
        st.count = 0;
        st.start = slot;
      }
      const double elapsed = static_cast<double>(now - slot);
      const double weight = (static_cast<double>(len) - elapsed) / static_cast<double>(len);
      const double estimate = static_cast<double>(st.previous) * weight + static_cast<double>(st.count);
      const bool allowed = estimate + 1 <= static_cast<double>(limit) + 1e-9;
      double wait = 0;
      if (!allowed) {
        const double room_for = static_cast<double>(limit - 1);
        if (st.count <= limit - 1 && st.previous > 0) {
          // The previous window's share decays until the estimate leaves room for one.
          double needed_elapsed = static_cast<double>(len) * (1 - (room_for - static_cast<double>(st.count)) /
                                                                      static_cast<double>(st.previous));
          wait = std::max(0.0, needed_elapsed - elapsed);
        } else {
          // The current window is full: in the next one its count decays the same way.
          double needed = st.count > 0 ? static_cast<double>(len) * (1 - room_for / static_cast<double>(st.count)) : 0;
          wait = (static_cast<double>(len) - elapsed) + std::max(0.0, needed);
        }
      }
      return {allowed, estimate, wait, static_cast<double>(len) - elapsed};
    }
    case Algorithm::sliding_log: {
      const std::int64_t len = period_length_ms(w.period);
      while (st.log_head < st.log.size() && st.log[st.log_head] <= now - len) ++st.log_head;
      if (st.log_head > 64 && st.log_head * 2 > st.log.size()) {
        st.log.erase(st.log.begin(), st.log.begin() + static_cast<std::ptrdiff_t>(st.log_head));
        st.log_head = 0;
      } else if (st.log_head == st.log.size()) {
        st.log.clear();
        st.log_head = 0;
      }
      const auto used = static_cast<std::int64_t>(st.log.size() - st.log_head);
      double until_oldest = used == 0 ? static_cast<double>(len) : static_cast<double>(st.log[st.log_head] + len - now);
      return {used < limit, static_cast<double>(used), until_oldest, until_oldest};
    }
    case Algorithm::token_bucket: {
      const double capacity = static_cast<double>(w.burst);
      const double rate = static_cast<double>(limit) / static_cast<double>(period_length_ms(w.period));  // per ms
      if (!st.touched) {
        st.touched = true;
        st.tokens = capacity;
        st.start = now;
      } else if (now > st.start) {  // a clock stepped back refills nothing (and takes nothing)
        st.tokens = std::min(capacity, st.tokens + static_cast<double>(now - st.start) * rate);
        st.start = now;
      }
      const bool allowed = st.tokens >= 1 - 1e-9;
      double wait = allowed ? 0 : (1 - st.tokens) / rate;
      // Remaining is what the bucket holds (requests that would pass now).
      return {allowed, static_cast<double>(limit) - st.tokens, wait, (capacity - st.tokens) / rate};
    }
  }
  return {true, 0, 0, 0};
}

void count(Algorithm algorithm, WindowState& st, std::int64_t now) {
  switch (algorithm) {
    case Algorithm::fixed_window:
    case Algorithm::sliding_window: ++st.count; break;
    case Algorithm::sliding_log: st.log.push_back(now); break;
    case Algorithm::token_bucket: st.tokens -= 1; break;
  }
}

}  // namespace

std::string_view period_name(Period p) {
  static constexpr std::array<std::string_view, 6> kNames{"second", "minute", "hour", "day", "month", "year"};
  return kNames[static_cast<std::size_t>(p)];
}

std::string_view period_header_name(Period p) {
  static constexpr std::array<std::string_view, 6> kNames{"Second", "Minute", "Hour", "Day", "Month", "Year"};
  return kNames[static_cast<std::size_t>(p)];
}

Algorithm parse_algorithm(std::string_view name) {
  if (name == "sliding-window") return Algorithm::sliding_window;
  if (name == "sliding-log") return Algorithm::sliding_log;
  if (name == "token-bucket") return Algorithm::token_bucket;
  return Algorithm::fixed_window;
}

std::int64_t seconds_up(double ms) { return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(ms / 1000.0))); }

std::int64_t period_length_ms(Period period) {
  switch (period) {
    case Period::second: return 1000;
    case Period::minute: return 60000;
    case Period::hour: return 3600000;
    case Period::day: return kDayMs;
    case Period::month: return 30 * kDayMs;
    case Period::year: return 365 * kDayMs;
  }
  return 1000;
}

Bounds window_of(Period period, std::int64_t now_ms) {
  if (period == Period::month || period == Period::year) {
    std::int64_t year = 0;
    unsigned month = 1;
    civil_from_days(floor_div(now_ms, kDayMs), year, month);
    if (period == Period::year) return {days_from_civil(year, 1, 1) * kDayMs, days_from_civil(year + 1, 1, 1) * kDayMs};
    std::int64_t next_year = month == 12 ? year + 1 : year;
    unsigned next_month = month == 12 ? 1 : month + 1;
    return {days_from_civil(year, month, 1) * kDayMs, days_from_civil(next_year, next_month, 1) * kDayMs};
  }
  const std::int64_t len = period_length_ms(period);
  const std::int64_t start = floor_div(now_ms, len) * len;
  return {start, start + len};
}

void KeyState::take(Algorithm algorithm, const std::vector<WindowLimit>& limits, std::int64_t now_ms, Decision& out) {
  out.allowed = true;
  out.retry_after_s = 0;
  out.windows.resize(limits.size());
  double wait_ms = 0;
  std::array<Room, kPeriods.size()> rooms{};
  for (std::size_t i = 0; i < limits.size(); ++i) {
    rooms[i] = refresh(algorithm, limits[i], windows_[i], now_ms);
    if (!rooms[i].allowed) {
      out.allowed = false;
      wait_ms = std::max(wait_ms, rooms[i].wait_ms);
    }
  }
  for (std::size_t i = 0; i < limits.size(); ++i) {
    if (out.allowed) count(algorithm, windows_[i], now_ms);
    double used = rooms[i].used + (out.allowed ? 1 : 0);
    WindowReport& r = out.windows[i];
    r.limit = limits[i].limit;
    r.remaining = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(static_cast<double>(r.limit) - used + 1e-9)));
    if (!rooms[i].allowed) r.remaining = 0;
    r.reset_s = seconds_up(rooms[i].reset_ms);
  }
  if (!out.allowed) out.retry_after_s = seconds_up(wait_ms);
}

bool KeyState::idle(Algorithm algorithm, const std::vector<WindowLimit>& limits, std::int64_t now_ms) const {
  for (std::size_t i = 0; i < limits.size(); ++i) {
    const WindowState& st = windows_[i];
    const WindowLimit& w = limits[i];
    switch (algorithm) {
      case Algorithm::fixed_window:
        if (st.count > 0 && window_of(w.period, now_ms).start == st.start) return false;
        break;
      case Algorithm::sliding_window:
        // Counts matter until two windows have passed.
        if ((st.count > 0 || st.previous > 0) && now_ms < st.start + 2 * period_length_ms(w.period)) return false;
        break;
      case Algorithm::sliding_log:
        if (st.log.size() > st.log_head && st.log.back() > now_ms - period_length_ms(w.period)) return false;
        break;
      case Algorithm::token_bucket: {
        if (!st.touched) break;
        const double rate = static_cast<double>(w.limit) / static_cast<double>(period_length_ms(w.period));
        if (st.tokens + static_cast<double>(now_ms - st.start) * rate < static_cast<double>(w.burst)) return false;
        break;
      }
    }
  }
  return true;
}

}  // namespace portico::plugins::ratelimit
