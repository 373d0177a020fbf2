// The proxy cache's Admin API endpoints: Kong's (/proxy-cache...) and the purge by path every
// gateway tutorial shows (POST /cache/purge/<path>). Answered on the control thread; a memory
// store is shared by every worker, a Redis one by every node, so a purge is complete, for all
// of them, when it answers.
#include <boost/json.hpp>

#include <optional>
#include <set>

#include "http/header_lines.hpp"
#include "http/params.hpp"
#include "plugins/proxy-cache/instance.hpp"

namespace portico::plugins::cache {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using plugin::AdminAnswer;
using plugin::AdminCall;

// The distinct caches the running configuration's proxy-cache entries use, with the entry.
std::vector<std::pair<const config::PluginEntry*, SharedCache*>> caches_of(const AdminCall& call) {
  std::vector<std::pair<const config::PluginEntry*, SharedCache*>> out;
  std::set<SharedCache*> seen;
  for (const auto& [entry, instance] : call.instances) {
    const auto* cache = dynamic_cast<const CacheInstance*>(instance);
    if (cache == nullptr) continue;  // a disabled entry
    if (seen.insert(&cache->shared()).second) out.emplace_back(entry, &cache->shared());
  }
  return out;
}

AdminAnswer not_found() { return {404, json::object{{"message", "Not found"}}}; }

// Kong's stored object: status, headers, body, body_len, timestamp, ttl, version.
json::object entry_json(const CachedResponse& e) {
  json::object headers;
  http::for_each_header_line(e.headers, [&](std::string_view name, std::string_view value, std::string_view) {
    headers[name] = value;
  });
  return json::object{{"key", e.key_hex},
                      {"path", e.path},
                      {"status", e.status},
                      {"headers", std::move(headers)},
                      {"body", e.body},
                      {"body_len", e.body.size()},
                      {"timestamp", e.stored_at_ms / 1000},
                      {"ttl", (e.fresh_until_ms - e.stored_at_ms) / 1000},
                      {"version", 1}};
}

// Redis could not do what was asked: Kong Enterprise's 500 with the reason.
AdminAnswer redis_failure(const SharedCache& cache, std::string_view what, const std::string& why) {
  report_redis_failure(*cache.redis, what, why);
  return {500, json::object{{"message", "The cache's Redis (" + cache.redis->describe() + ") failed: " + why}}};
}

// GET /proxy-cache (Portico's): each cache's size and bound; for Redis, the server.
AdminAnswer stats(const AdminCall& call) {
  json::array data;
  for (const auto& [entry, cache] : caches_of(call)) {
    if (cache->redis) {
      data.push_back(json::object{{"strategy", "redis"},
                                  {"redis", cache->redis->describe()},
                                  {"fills_in_progress", cache->fills.in_progress()}});
      continue;
    }
    data.push_back(json::object{{"strategy", "memory"},
                                {"dictionary_name", cache->name},
                                {"entries", cache->store.entries()},
                                {"bytes", cache->store.bytes()},
                                {"max_bytes", cache->max_bytes},
                                {"evictions", cache->store.evictions()},
                                {"fills_in_progress", cache->fills.in_progress()}});
  }
  return {200, json::object{{"data", std::move(data)}}};
}

asio::awaitable<AdminAnswer> purge_all(const AdminCall& call) {
  if (call.method == "GET" || call.method == "HEAD") co_return stats(call);
  auto caches = caches_of(call);
  for (const auto& [entry, cache] : caches) {
    if (!cache->redis) {
      cache->store.clear();
      continue;
    }
    RedisCache::Count cleared = co_await cache->redis->clear();
    if (!cleared.failure.empty()) co_return redis_failure(*cache, "purge", cleared.failure);
  }
  co_return AdminAnswer{204, nullptr};
}

// GET or DELETE of the entry shown as `key` in `cache`: the answer, or nullopt when the
// cache does not hold it.
asio::awaitable<std::optional<AdminAnswer>> entry_call(const AdminCall& call, SharedCache& cache, const std::string& key) {
  bool erase = call.method == "DELETE";
  if (cache.redis) {
    if (erase) {
      RedisCache::Count erased = co_await cache.redis->erase_shown(key);
      if (!erased.failure.empty()) co_return redis_failure(cache, "purge", erased.failure);
      if (erased.count > 0) co_return AdminAnswer{204, nullptr};
      co_return std::nullopt;
    }
    RedisCache::Lookup found = co_await cache.redis->find_shown(key);
    if (!found.failure.empty()) co_return redis_failure(cache, "read an entry", found.failure);
    if (found.entry) co_return AdminAnswer{200, entry_json(*found.entry)};
    co_return std::nullopt;
  }
  if (erase) {
    if (cache.store.erase_shown(key)) co_return AdminAnswer{204, nullptr};
  } else if (auto found = cache.store.find_shown(key, now_ms())) {
    co_return AdminAnswer{200, entry_json(*found)};
  }
  co_return std::nullopt;
}

asio::awaitable<AdminAnswer> by_key(const AdminCall& call) {
  const std::string& key = call.params[0];
  auto caches = caches_of(call);
  for (const auto& [entry, cache] : caches) {
    std::optional<AdminAnswer> answer = co_await entry_call(call, *cache, key);
    if (answer) co_return std::move(*answer);
  }
  co_return not_found();
}

asio::awaitable<AdminAnswer> by_plugin_and_key(const AdminCall& call) {
  const std::string& plugin_id = call.params[0];
  const std::string& key = call.params[1];
  for (const auto& [entry, instance] : call.instances) {
    if (entry->id != plugin_id) continue;
    const auto* cache = dynamic_cast<const CacheInstance*>(instance);
    if (cache == nullptr) co_return not_found();
    std::optional<AdminAnswer> answer = co_await entry_call(call, cache->shared(), key);
    co_return answer ? std::move(*answer) : not_found();
  }
  co_return not_found();
}

// POST /cache/purge/<path>: every variant of the path (queries, vary values, methods, consumers);
// `?prefix=true` or a trailing `*`: every path under it.
asio::awaitable<AdminAnswer> purge_path(const AdminCall& call) {
  std::string path = "/" + call.params[0];
  bool prefix = http::query_value(call.query, "prefix") == "true";
  if (!path.empty() && path.back() == '*') {
    path.pop_back();
    prefix = true;
  }
  std::size_t purged = 0;
  auto caches = caches_of(call);
  for (const auto& [entry, cache] : caches) {
    if (!cache->redis) {
      purged += cache->store.erase_path(path, prefix);
      continue;
    }
    RedisCache::Count erased = co_await cache->redis->erase_path(path, prefix);
    if (!erased.failure.empty()) co_return redis_failure(*cache, "purge", erased.failure);
    purged += erased.count;
  }
  co_return AdminAnswer{200, json::object{{"purged", purged}, {"path", path}, {"prefix", prefix}}};
}

}  // namespace

std::vector<plugin::AdminEndpoint> admin_endpoints() {
  return {
      {"/proxy-cache", {"GET", "HEAD", "DELETE"}, purge_all},
      {"/proxy-cache/{cache_key}", {"GET", "HEAD", "DELETE"}, by_key},
      {"/proxy-cache/{plugin_id}/caches/{cache_key}", {"GET", "HEAD", "DELETE"}, by_plugin_and_key},
      {"/cache/purge/{path...}", {"POST", "DELETE"}, purge_path},
  };
}

}  // namespace portico::plugins::cache
