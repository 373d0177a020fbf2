#include "plugins/proxy-cache/redis_cache.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <charconv>
#include <chrono>

#include "crypto/digest.hpp"
#include "obs/log_limiter.hpp"
#include "plugin/counters.hpp"
#include "plugins/proxy-cache/cache_key.hpp"
#include "plugins/proxy-cache/entry_codec.hpp"

namespace portico::plugins::cache {
namespace {

namespace asio = boost::asio;
using net::RedisResult;
using net::RedisValue;

constexpr std::string_view kEntries = "portico-cache:e:";
constexpr std::string_view kPaths = "portico-cache:p:";
const std::string kGeneration = "portico-cache:generation";

// KEYS: entry, path set, generation. ARGV: the generation read at lookup, the entry's bytes,
// its time to live (ms, 0: none), its key as shown (the path set's member). A path set lives
// as long as its longest-lived entry.
// A Lua script and its SHA-1 (EVALSHA's name for it).
struct Script {
  explicit Script(std::string text) : source(std::move(text)), sha1(crypto::sha1_hex(source)) {}
  std::string source, sha1;
};

const Script kStoreScript(R"lua(
if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[1] then return 0 end
local ttl = tonumber(ARGV[3])
if ttl > 0 then redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl) else redis.call('SET', KEYS[1], ARGV[2]) end
local existed = redis.call('EXISTS', KEYS[2])
redis.call('SADD', KEYS[2], ARGV[4])
if ttl == 0 then
  redis.call('PERSIST', KEYS[2])
else
  local left = redis.call('PTTL', KEYS[2])
  if existed == 0 or (left >= 0 and left < ttl) then redis.call('PEXPIRE', KEYS[2], ttl) end
end
return 1
)lua");

// KEYS: a path set, the generation. ARGV: the entries' key prefix. Removes the path's entries
// and counts a purge.
const Script kPurgePathScript(R"lua(
local n = 0
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do n = n + redis.call('DEL', ARGV[1] .. member) end
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
return n
)lua");

// KEYS: an entry, the generation.
const Script kEraseScript(R"lua(
local n = redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
return n
)lua");

// Why a result is not a usable reply ("" when it is).
std::string failure_of(const RedisResult& r) {
  if (!r.ok) return r.failure;
  if (r.value.type == RedisValue::Type::error) return r.value.string;
  return {};
}

std::uint64_t generation_of(const RedisValue& v) {
  std::uint64_t g = 0;
  if (v.type == RedisValue::Type::string) std::from_chars(v.string.data(), v.string.data() + v.string.size(), g);
  return g;
}

// A glob pattern (SCAN MATCH) matching exactly `text` as a prefix.
std::string glob_prefix(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('*');
  return out;
}

// A reply that is a count (a script's, DEL's, UNLINK's).
RedisCache::Count counted(const RedisResult& r) {
  RedisCache::Count out{failure_of(r), 0};
  if (out.failure.empty() && r.value.type == RedisValue::Type::integer && r.value.integer > 0) {
    out.count = static_cast<std::size_t>(r.value.integer);
  }
  return out;
}

asio::awaitable<RedisResult> run(const net::RedisSettings& settings, std::vector<std::string> args) {
  auto connection = co_await net::connection_here(settings);
  co_return co_await connection->command(std::move(args));
}

asio::awaitable<RedisResult> run_script(const net::RedisSettings& settings, const Script& script,
                                        std::vector<std::string> args) {
  auto connection = co_await net::connection_here(settings);
  co_return co_await connection->eval(script.source, script.sha1, std::move(args));
}

}  // namespace

std::string RedisCache::describe() const {
  return fmt::format("{}:{}/{}", settings_.host, settings_.port, settings_.database);
}

asio::awaitable<RedisCache::Lookup> RedisCache::find(std::string key) const {
  Lookup out;
  std::string entry_key = std::string(kEntries) + key_digest(key);
  std::vector<std::string> args{"MGET", entry_key, kGeneration};
  RedisResult r = co_await run(settings_, std::move(args));
  out.failure = failure_of(r);
  if (!out.failure.empty()) co_return out;
  if (r.value.type != RedisValue::Type::array || r.value.elements.size() != 2) {
    out.failure = "unexpected reply to MGET";
    co_return out;
  }
  out.generation = generation_of(r.value.elements[1]);
  if (r.value.elements[0].type == RedisValue::Type::string) {
    auto entry = decode_entry(r.value.elements[0].string);
    if (entry && entry->key == key) {  // anything else (another format, another request): absent
      out.entry = std::move(entry);
      out.encoded = std::move(r.value.elements[0].string);
    }
  }
  co_return out;
}

asio::awaitable<RedisCache::Count> RedisCache::put(std::shared_ptr<const CachedResponse> entry, std::uint64_t generation,
                                                  std::int64_t ttl_ms) const {
  std::vector<std::string> args{"3",
                                std::string(kEntries) + entry->key_hex,
                                std::string(kPaths) + entry->path,
                                kGeneration,
                                std::to_string(generation),
                                encode_entry(*entry),
                                std::to_string(ttl_ms),
                                entry->key_hex};
  RedisResult r = co_await run_script(settings_, kStoreScript, std::move(args));
  co_return counted(r);
}

asio::awaitable<RedisCache::Lookup> RedisCache::find_shown(std::string key_hex) const {
  Lookup out;
  std::vector<std::string> args{"GET", std::string(kEntries) + key_hex};
  RedisResult r = co_await run(settings_, std::move(args));
  out.failure = failure_of(r);
  if (out.failure.empty() && r.value.type == RedisValue::Type::string) {
    out.entry = decode_entry(r.value.string);
    if (out.entry) out.encoded = std::move(r.value.string);
  }
  co_return out;
}

asio::awaitable<RedisCache::Count> RedisCache::erase_shown(std::string key_hex) const {
  std::vector<std::string> args{"2", std::string(kEntries) + key_hex, kGeneration};
  RedisResult r = co_await run_script(settings_, kEraseScript, std::move(args));
  co_return counted(r);
}

asio::awaitable<RedisCache::Count> RedisCache::erase_path(std::string path, bool prefix) const {
  if (prefix) {
    Count out = co_await purge_paths(glob_prefix(std::string(kPaths) + path));
    co_return out;
  }
  std::vector<std::string> args{"2", std::string(kPaths) + path, kGeneration, std::string(kEntries)};
  RedisResult r = co_await run_script(settings_, kPurgePathScript, std::move(args));
  co_return counted(r);
}

asio::awaitable<RedisCache::ScanPage> RedisCache::scan(std::string cursor, std::string pattern) const {
  std::vector<std::string> args{"SCAN", std::move(cursor), "MATCH", std::move(pattern), "COUNT", "1000"};
  RedisResult r = co_await run(settings_, std::move(args));
  ScanPage page;
  page.failure = failure_of(r);
  if (!page.failure.empty()) co_return page;
  if (r.value.type != RedisValue::Type::array || r.value.elements.size() != 2) {
    page.failure = "unexpected reply to SCAN";
    co_return page;
  }
  page.cursor = std::move(r.value.elements[0].string);
  for (auto& key : r.value.elements[1].elements) page.keys.push_back(std::move(key.string));
  co_return page;
}

asio::awaitable<RedisCache::Count> RedisCache::purge_paths(std::string pattern) const {
  Count total;
  std::string cursor = "0";
  do {
    ScanPage page = co_await scan(cursor, pattern);
    if (!page.failure.empty()) co_return Count{page.failure, total.count};
    cursor = page.cursor;
    for (const auto& key : page.keys) {
      std::vector<std::string> args{"2", key, kGeneration, std::string(kEntries)};
      RedisResult r = co_await run_script(settings_, kPurgePathScript, std::move(args));
      Count purged = counted(r);
      if (!purged.failure.empty()) co_return Count{purged.failure, total.count};
      total.count += purged.count;
    }
  } while (cursor != "0");
  co_return total;
}

asio::awaitable<RedisCache::Count> RedisCache::bump_generation() const {
  std::vector<std::string> args{"INCR", kGeneration};
  RedisResult r = co_await run(settings_, std::move(args));
  co_return Count{failure_of(r), 0};
}

asio::awaitable<RedisCache::Count> RedisCache::clear() const {
  // Counted before and after: a fill that looked up before the end stores nothing.
  Count before = co_await bump_generation();
  if (!before.failure.empty()) co_return before;
  Count total;
  const std::array<std::string_view, 2> kinds{kEntries, kPaths};
  for (std::string_view kind : kinds) {
    std::string cursor = "0";
    do {
      ScanPage page = co_await scan(cursor, glob_prefix(kind));
      if (!page.failure.empty()) co_return Count{page.failure, total.count};
      cursor = page.cursor;
      if (page.keys.empty()) continue;
      page.keys.insert(page.keys.begin(), "UNLINK");
      RedisResult r = co_await run(settings_, std::move(page.keys));
      Count removed = counted(r);
      if (!removed.failure.empty()) co_return Count{removed.failure, total.count};
      if (kind == kEntries) total.count += removed.count;
    } while (cursor != "0");
  }
  Count after = co_await bump_generation();
  total.failure = after.failure;
  co_return total;
}

void report_redis_failure(const RedisCache& cache, std::string_view what, std::string_view why) {
  static std::atomic<std::uint64_t>& failures = plugin::counter("proxy_cache_redis_failures");
  static obs::OncePerSecond log;
  failures.fetch_add(1, std::memory_order_relaxed);
  if (log.allow()) {
    spdlog::warn("proxy-cache: redis {} failed to {} ({}); proxy_cache_redis_failures in /status", cache.describe(), what, why);
  }
}

}  // namespace portico::plugins::cache
