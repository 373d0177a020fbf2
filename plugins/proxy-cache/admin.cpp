// The proxy cache's Admin API endpoints: Kong's (/proxy-cache...) and the purge by path every
// gateway tutorial shows (POST /cache/purge/<path>). Answered on the control thread; the
// store is shared by every worker, so a purge is complete, for all of them, when it answers.
#include <boost/json.hpp>

#include <set>

#include "http/header_lines.hpp"
#include "http/params.hpp"
#include "plugins/proxy-cache/instance.hpp"

namespace portico::plugins::cache {
namespace {

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

// GET /proxy-cache (Portico's): each cache's size and bound.
AdminAnswer stats(const AdminCall& call) {
  json::array data;
  for (const auto& [entry, cache] : caches_of(call)) {
    data.push_back(json::object{{"dictionary_name", cache->name},
                                {"entries", cache->store.entries()},
                                {"bytes", cache->store.bytes()},
                                {"max_bytes", cache->max_bytes},
                                {"evictions", cache->store.evictions()},
                                {"fills_in_progress", cache->fills.in_progress()}});
  }
  return {200, json::object{{"data", std::move(data)}}};
}

AdminAnswer purge_all(const AdminCall& call) {
  if (call.method == "GET" || call.method == "HEAD") return stats(call);
  for (const auto& [entry, cache] : caches_of(call)) cache->store.clear();
  return {204, nullptr};
}

AdminAnswer by_key(const AdminCall& call) {
  const std::string& key = call.params[0];
  for (const auto& [entry, cache] : caches_of(call)) {
    if (call.method == "DELETE") {
      if (cache->store.erase_shown(key)) return {204, nullptr};
    } else if (auto found = cache->store.find_shown(key, now_ms())) {
      return {200, entry_json(*found)};
    }
  }
  return not_found();
}

AdminAnswer by_plugin_and_key(const AdminCall& call) {
  const std::string& plugin_id = call.params[0];
  const std::string& key = call.params[1];
  for (const auto& [entry, instance] : call.instances) {
    if (entry->id != plugin_id) continue;
    const auto* cache = dynamic_cast<const CacheInstance*>(instance);
    if (cache == nullptr) return not_found();
    if (call.method == "DELETE") return cache->shared().store.erase_shown(key) ? AdminAnswer{204, nullptr} : not_found();
    auto found = cache->shared().store.find_shown(key, now_ms());
    return found ? AdminAnswer{200, entry_json(*found)} : not_found();
  }
  return not_found();
}

// POST /cache/purge/<path>: every variant of the path (queries, vary values, methods, consumers);
// `?prefix=true` or a trailing `*`: every path under it.
AdminAnswer purge_path(const AdminCall& call) {
  std::string path = "/" + call.params[0];
  bool prefix = http::query_value(call.query, "prefix") == "true";
  if (!path.empty() && path.back() == '*') {
    path.pop_back();
    prefix = true;
  }
  std::size_t purged = 0;
  for (const auto& [entry, cache] : caches_of(call)) purged += cache->store.erase_path(path, prefix);
  return {200, json::object{{"purged", purged}, {"path", path}, {"prefix", prefix}}};
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
