// The proxy-cache plugin's configured instance: its config, the process-wide cache it
// shares with every entry naming the same dictionary, and its phases (instance.cpp).
// A request's way through them: access (key, lookup: Hit / Stale answered from the entry,
// else claim or wait for the key's fill), response_headers (may it be stored? capture the
// body), body_captured (store, wake the waiters), upstream_error (stale-if-error), log
// (release the fill when nothing was stored).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/caching.hpp"
#include "plugin/plugin.hpp"
#include "plugins/proxy-cache/cache_key.hpp"
#include "plugins/proxy-cache/cache_store.hpp"
#include "plugins/proxy-cache/cacheability.hpp"
#include "plugins/proxy-cache/fills.hpp"
#include "plugins/proxy-cache/redis_cache.hpp"
#include "plugin/redis_fields.hpp"

namespace portico::plugins::cache {

struct CacheConfig : plugin::ParsedConfig {
  struct Memory {
    std::string dictionary_name = "kong_db_cache";  // Kong's shared dict; here: which store
    int max_bytes = 128 * 1024 * 1024;               // Portico's: the store's bound (Kong's mem_cache_size)
  };
  struct Headers {  // Kong's response_headers toggles
    bool age = true, x_cache_status = true, x_cache_key = true;
  };
  std::vector<int> response_code{200, 301, 404};
  std::vector<std::string> request_method{"GET", "HEAD"};
  std::vector<std::string> content_type{"text/plain", "application/json"};
  int cache_ttl = 300;
  std::string strategy;
  bool cache_control = false;
  bool ignore_uri_case = false;
  int storage_ttl = -1;  // null: as the freshness lifetime
  Memory memory;
  std::vector<std::string> vary_query_params, vary_headers;
  Headers response_headers;
  // Portico's: seconds an expired entry may still answer while one request refreshes it, or
  // when the upstream fails; the largest body stored; how long a miss waits for another
  // request fetching the same key (ms) before going upstream itself.
  int stale_while_revalidate = 0;
  int stale_if_error = 0;
  int max_body_size = 1024 * 1024;
  int coalesce_timeout = 5000;
  // strategy redis (Portico's; Kong Enterprise's proxy-cache-advanced fields): the server, and
  // whether a request is sent upstream (X-Cache-Status: Bypass) when Redis fails rather than
  // answered 502.
  plugin::RedisFields redis;
  bool bypass_on_err = false;

  // Derived when read.
  KeyRules key_rules;
  StoreRules store_rules;  // response_code, content_type (parsed), cache_control, cache_ttl, max_body_size
};

// One per dictionary (strategy memory) or Redis server (strategy redis) in the process: the
// entries (in `store`, or in Redis) and this node's fills in progress.
struct SharedCache {
  SharedCache(std::string name, std::size_t max_bytes) : name(std::move(name)), max_bytes(max_bytes), store(max_bytes) {}
  SharedCache(std::string name, std::size_t max_bytes, net::RedisSettings redis_settings)
      : SharedCache(std::move(name), max_bytes) {
    redis = std::make_unique<RedisCache>(std::move(redis_settings));
  }
  std::string name;
  std::size_t max_bytes;  // bounds each entry (a shard's share), in Redis too
  CacheStore store;       // empty with Redis
  std::unique_ptr<RedisCache> redis;
  Fills fills;
};

// The cache's clock, milliseconds since the epoch: the system clock unless a test sets one.
std::int64_t now_ms();
void set_clock_for_tests(std::int64_t (*clock)());  // nullptr: the system clock again

class CacheInstance final : public plugin::Instance {
 public:
  CacheInstance(const CacheConfig& config, const config::DeclarativeConfig& declared, std::shared_ptr<SharedCache> shared);

  plugin::Access access(plugin::RequestContext& ctx) const override;
  boost::asio::awaitable<plugin::Access> access_async(plugin::RequestContext& ctx) const override;
  void response_headers(plugin::RequestContext& ctx) const override;
  void upstream_error(plugin::RequestContext& ctx, int status) const override;
  void body_captured(plugin::RequestContext& ctx) const override;
  void log(plugin::RequestContext& ctx) const noexcept override;

  SharedCache& shared() const { return *shared_; }

 private:
  struct Ticket;
  std::string_view key_of(plugin::RequestContext& ctx) const;
  http::CacheControl request_cache_control(const http::MessageHead& request) const;
  // After the lookup: Hit / Stale answered, or sent upstream (Miss / Refresh), or `suspend`
  // to wait for the fill another request is making.
  plugin::Access decide(plugin::RequestContext& ctx, Ticket& t, std::shared_ptr<const CachedResponse> entry,
                        const http::CacheControl& cc, std::int64_t now) const;
  boost::asio::awaitable<RedisCache::Lookup> find_in_redis(Ticket& t) const;
  plugin::Access redis_failed(plugin::RequestContext& ctx, Ticket& t, const std::string& why) const;
  void store_in_redis(std::shared_ptr<const CachedResponse> entry, Ticket& t) const;
  bool usable(const CachedResponse& entry, const http::MessageHead& request) const;
  bool fresh_for(const CachedResponse& entry, const http::CacheControl& request_cc, std::int64_t now) const;
  plugin::Access answer(plugin::RequestContext& ctx, std::shared_ptr<const CachedResponse> entry, std::string_view status,
                        std::int64_t now) const;
  plugin::Access go_upstream(plugin::RequestContext& ctx, Ticket& ticket, std::string_view status) const;
  // An expired entry may answer (stale-while-revalidate / -if-error `window_seconds`).
  bool may_serve_stale(const CachedResponse& entry, const http::CacheControl& request_cc, int window_seconds,
                       std::int64_t now) const;
  void add_header(plugin::RequestContext& ctx, bool enabled, std::string_view name, std::string_view value) const;
  void bypass(plugin::RequestContext& ctx) const;

  const CacheConfig& config_;  // owned by the snapshot's configuration
  const config::DeclarativeConfig& declared_;
  std::shared_ptr<SharedCache> shared_;
};

// The Admin API endpoints (Kong's /proxy-cache ones and Portico's /cache/purge), admin.cpp.
std::vector<plugin::AdminEndpoint> admin_endpoints();

}  // namespace portico::plugins::cache
