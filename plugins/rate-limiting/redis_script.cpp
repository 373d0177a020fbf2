#include "plugins/rate-limiting/redis_script.hpp"

#include <algorithm>
#include <cmath>

#include "crypto/digest.hpp"

namespace portico::plugins::ratelimit {

// KEYS[i]: window i's key. ARGV[1]: algorithm (1 fixed-window, 2 sliding-window, 3 sliding-log,
// 4 token-bucket); ARGV[2]: now (ms); then four values per window: limit, burst, start, end
// (fixed-window: the calendar window; the others: 0 and the period's length).
// Returns {allowed, retry_after_ms, remaining_1, reset_ms_1, remaining_2, reset_ms_2, ...}.
// Each branch is the same arithmetic as limits.cpp's refresh() and count().
const std::string& decision_script() {
  static const std::string script = R"lua(
local alg = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local n = #KEYS
local allowed, wait = 1, 0
local used, room, reset, commit = {}, {}, {}, {}
for i = 1, n do
  local b = 3 + (i - 1) * 4
  local limit, burst, s, e = tonumber(ARGV[b]), tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local key = KEYS[i]
  local ok, w
  if alg == 1 then
    local k = key .. ':' .. s
    local c = tonumber(redis.call('GET', k) or '0')
    ok = c < limit
    used[i], reset[i], w = c, e - now, e - now
    commit[i] = {k, e - now}
  elseif alg == 2 then
    local len = e
    local slot = now - (now % len)
    local cur = tonumber(redis.call('GET', key .. ':' .. slot) or '0')
    local prev = tonumber(redis.call('GET', key .. ':' .. (slot - len)) or '0')
    local elapsed = now - slot
    local est = prev * (len - elapsed) / len + cur
    ok = est + 1 <= limit + 1e-9
    used[i], reset[i], w = est, len - elapsed, 0
    if not ok then
      local room_for = limit - 1
      if cur <= limit - 1 and prev > 0 then
        w = math.max(0, len * (1 - (room_for - cur) / prev) - elapsed)
      else
        local needed = 0
        if cur > 0 then needed = len * (1 - room_for / cur) end
        w = (len - elapsed) + math.max(0, needed)
      end
    end
    commit[i] = {key .. ':' .. slot, 2 * len}
  elseif alg == 3 then
    local len = e
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - len)
    local c = redis.call('ZCARD', key)
    local until_oldest = len
    if c > 0 then
      local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      until_oldest = tonumber(oldest[2]) + len - now
    end
    ok = c < limit
    used[i], reset[i], w = c, until_oldest, until_oldest
    commit[i] = {key, len}
  else
    local len = e
    local rate = limit / len
    local h = redis.call('HMGET', key, 't', 'at')
    local tokens, at = tonumber(h[1]), now
    if tokens == nil then
      tokens = burst
    else
      at = tonumber(h[2])
      if now > at then  -- a node whose clock is behind refills nothing (and takes nothing)
        tokens = math.min(burst, tokens + (now - at) * rate)
        at = now
      end
    end
    ok = tokens >= 1 - 1e-9
    used[i], reset[i], w = limit - tokens, (burst - tokens) / rate, 0
    if not ok then w = (1 - tokens) / rate end
    commit[i] = {key, tokens, rate, burst, at}
  end
  room[i] = ok
  if not ok then
    allowed = 0
    if w > wait then wait = w end
  end
end
local out = {allowed, math.ceil(wait)}
for i = 1, n do
  local c = commit[i]
  if allowed == 1 then
    if alg == 1 or alg == 2 then
      redis.call('INCR', c[1])
      redis.call('PEXPIRE', c[1], math.ceil(c[2]) + 1000)
    elseif alg == 3 then
      local seq = redis.call('INCR', KEYS[i] .. ':seq')
      redis.call('PEXPIRE', KEYS[i] .. ':seq', c[2] + 1000)
      redis.call('ZADD', KEYS[i], now, now .. ':' .. seq)
      redis.call('PEXPIRE', KEYS[i], c[2] + 1000)
    else
      local t = c[2] - 1
      redis.call('HSET', KEYS[i], 't', tostring(t), 'at', c[5])
      redis.call('PEXPIRE', KEYS[i], math.ceil((c[4] - t) / c[3]) + 1000)
    end
  end
  local limit = tonumber(ARGV[3 + (i - 1) * 4])
  local remaining = 0
  if room[i] then
    local u = used[i]
    if allowed == 1 then u = u + 1 end
    remaining = math.max(0, math.floor(limit - u + 1e-9))
  end
  out[#out + 1] = remaining
  out[#out + 1] = math.ceil(reset[i])
end
return out
)lua";
  return script;
}

const std::string& decision_script_sha1() {
  static const std::string hex = crypto::sha1_hex(decision_script());
  return hex;
}

std::vector<std::string> decision_args(Algorithm algorithm, const std::vector<WindowLimit>& limits,
                                       const std::string& key_prefix, std::int64_t now_ms) {
  std::vector<std::string> args;
  args.push_back(std::to_string(limits.size()));
  for (const auto& w : limits) args.push_back(key_prefix + std::string(period_name(w.period)));
  args.push_back(std::to_string(static_cast<int>(algorithm) + 1));
  args.push_back(std::to_string(now_ms));
  for (const auto& w : limits) {
    args.push_back(std::to_string(w.limit));
    args.push_back(std::to_string(w.burst));
    if (algorithm == Algorithm::fixed_window) {
      Bounds b = window_of(w.period, now_ms);
      args.push_back(std::to_string(b.start));
      args.push_back(std::to_string(b.end));
    } else {
      args.push_back("0");
      args.push_back(std::to_string(period_length_ms(w.period)));
    }
  }
  return args;
}

bool read_decision(const net::RedisValue& reply, const std::vector<WindowLimit>& limits, Decision& out, std::string& why) {
  using Type = net::RedisValue::Type;
  if (reply.type == Type::error) {
    why = "redis: " + reply.string;
    return false;
  }
  const auto& e = reply.elements;
  if (reply.type != Type::array || e.size() != 2 + 2 * limits.size() ||
      std::any_of(e.begin(), e.end(), [](const net::RedisValue& v) { return v.type != Type::integer; })) {
    why = "redis: unexpected reply to the rate-limiting script";
    return false;
  }
  out.allowed = e[0].integer == 1;
  out.retry_after_s = out.allowed ? 0 : seconds_up(static_cast<double>(e[1].integer));
  out.windows.resize(limits.size());
  for (std::size_t i = 0; i < limits.size(); ++i) {
    out.windows[i] = {limits[i].limit, e[2 + 2 * i].integer, seconds_up(static_cast<double>(e[3 + 2 * i].integer))};
  }
  return true;
}

}  // namespace portico::plugins::ratelimit
