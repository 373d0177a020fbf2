// The redis strategy's store: entries shared by every node through one Redis server, so a
// response cached by one node answers on all of them and a purge through any node's Admin API
// reaches all of them (there is no copy elsewhere).
//
// Keys (one Redis database may hold other data: every key is under "portico-cache:"):
//   portico-cache:e:<key_hex>   the entry (entry_codec.hpp), expiring with it (PX)
//   portico-cache:p:<path>      the keys stored for a path (a set), for purges by path
//   portico-cache:generation    counts purges: a fill stores only if no purge ran since its
//                               lookup, so a response fetched before a purge never comes back
//                               after it, whichever node fetched it (the memory store's rule)
// Stores and purges are Lua scripts (atomic; one node's connection carries many requests'
// commands, so MULTI could interleave). Not for Redis Cluster: a script touches keys of
// several slots.
//
// Every operation runs on the calling coroutine's thread's connection (net::connection_here);
// a failure is reported, never thrown.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/redis_client.hpp"
#include "plugins/proxy-cache/cache_store.hpp"

namespace portico::plugins::cache {

class RedisCache {
 public:
  explicit RedisCache(net::RedisSettings settings) : settings_(std::move(settings)) {}

  struct Lookup {
    std::string failure;  // empty: Redis answered (with an entry or without)
    std::shared_ptr<const CachedResponse> entry;
    std::string encoded;  // the entry's bytes as stored (kept for stale-if-error)
    std::uint64_t generation = 0;
  };
  struct Count {
    std::string failure;
    std::size_t count = 0;
  };

  // The entry stored under `key` (compared whole: a digest collision finds nothing), and the
  // purge generation to store a fetched response with.
  boost::asio::awaitable<Lookup> find(std::string key) const;
  // Stores `entry` unless a purge ran since `generation`: count 1 stored, 0 refused. `ttl_ms`
  // 0: no expiry (storage_ttl 0; Redis's maxmemory policy evicts).
  boost::asio::awaitable<Count> put(std::shared_ptr<const CachedResponse> entry, std::uint64_t generation,
                                    std::int64_t ttl_ms) const;
  // By the key as shown (X-Cache-Key), for the Admin API.
  boost::asio::awaitable<Lookup> find_shown(std::string key_hex) const;
  boost::asio::awaitable<Count> erase_shown(std::string key_hex) const;
  // Every entry of `path` (or of every path starting with it): how many were removed.
  boost::asio::awaitable<Count> erase_path(std::string path, bool prefix) const;
  // Every entry (the other keys of the database stay).
  boost::asio::awaitable<Count> clear() const;

  const net::RedisSettings& settings() const { return settings_; }
  std::string describe() const;  // "host:port/db", for the Admin API and logs

 private:
  struct ScanPage {
    std::string failure;
    std::string cursor;  // "0": the last page
    std::vector<std::string> keys;
  };
  boost::asio::awaitable<ScanPage> scan(std::string cursor, std::string pattern) const;
  boost::asio::awaitable<Count> purge_paths(std::string pattern) const;  // SCAN for path sets, each purged
  boost::asio::awaitable<Count> bump_generation() const;
  net::RedisSettings settings_;
};

// Reports a Redis failure of the cache: counted in /status (proxy_cache_redis_failures) and
// logged at most once a second.
void report_redis_failure(const RedisCache& cache, std::string_view what, std::string_view why);

}  // namespace portico::plugins::cache
