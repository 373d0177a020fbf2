// The proxy-cache plugin's store (issue 11; the plugin itself is not in the build yet): one
// cache per process, shared by every worker, holding immutable responses by key.
//
// Entries are `shared_ptr<const CachedResponse>`: a hit takes a reference and sends the stored
// bytes without copying them, and an entry replaced or purged meanwhile stays valid for the
// requests already sending it. Keys are spread over 32 shards, each a hash map with its own
// LRU order under its own mutex (a hit moves its entry to the front). Memory is bounded in
// bytes: each shard holds at most max_bytes / 32 and evicts least recently used entries to
// make room; an entry larger than a shard's share is not stored.
//
// Time is passed in (milliseconds), so expiry is tested with a clock the test drives.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "plugin/string_map.hpp"

namespace portico::plugins::cache {

struct CachedResponse {
  std::string key;      // the store's key (cache_key_text)
  std::string key_hex;  // as clients and the Admin API see it (X-Cache-Key)
  std::string path;     // the request's normalised path, for purges by path and prefix
  int status = 200;
  std::string headers;  // complete "Name: value\r\n" lines to send back
  std::string body;
  std::int64_t stored_at_ms = 0;
  std::int64_t fresh_until_ms = 0;  // served as a hit until then
  std::int64_t keep_until_ms = 0;   // kept (stale, for stale-while-revalidate / -if-error) until then
  std::int64_t initial_age = 0;     // seconds: the upstream's Age when it was stored
  std::string etag;                 // for If-None-Match
  std::int64_t last_modified = -1;  // Unix seconds, for If-Modified-Since; -1: none
  // The response's Vary: each named request header's value when it was stored; a request
  // with other values is a miss.
  std::vector<std::pair<std::string, std::string>> vary;
  bool must_revalidate = false;  // never answered stale (must-revalidate, proxy-revalidate, s-maxage)
  // Its age at `now_ms`, in seconds (the upstream's Age included).
  std::int64_t age_seconds(std::int64_t now_ms) const {
    return initial_age + (now_ms > stored_at_ms ? (now_ms - stored_at_ms) / 1000 : 0);
  }
  // What the entry costs the store: its bytes plus a fixed overhead for the map and list nodes.
  std::size_t cost() const {
    std::size_t bytes = key.size() + key_hex.size() + path.size() + headers.size() + body.size() + etag.size() + 256;
    for (const auto& [name, value] : vary) bytes += name.size() + value.size() + 64;
    return bytes;
  }
};

class CacheStore {
 public:
  explicit CacheStore(std::size_t max_bytes);

  // The entry for `key` if it is still kept at `now_ms` (fresh or stale: the caller compares
  // fresh_until_ms); an entry past keep_until_ms is dropped and not returned.
  std::shared_ptr<const CachedResponse> find(std::string_view key, std::int64_t now_ms);
  // Stores (or replaces) an entry; false when it is larger than a shard's share, or when a
  // purge happened since generation() was `if_generation` (a response fetched before a purge
  // must not come back after it). Without `if_generation`: stored regardless.
  bool put(std::shared_ptr<const CachedResponse> entry, std::optional<std::uint64_t> if_generation = std::nullopt);
  // Counts purges (erase, erase_path, clear); read before fetching what will be put.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  bool erase(std::string_view key);
  // By the key as shown (key_hex), for the Admin API: a scan of every shard, not a lookup.
  // Entries past keep_until_ms at `now_ms` are not found.
  std::shared_ptr<const CachedResponse> find_shown(std::string_view key_hex, std::int64_t now_ms) const;
  bool erase_shown(std::string_view key_hex);
  // Every entry whose path is `path` (or starts with it, when `prefix`): how many.
  std::size_t erase_path(std::string_view path, bool prefix);
  std::size_t clear();

  std::size_t bytes() const;
  std::size_t entries() const;
  std::uint64_t evictions() const;

 private:
  struct Node {
    std::shared_ptr<const CachedResponse> entry;
    std::list<std::string_view>::iterator lru;  // views of entry->key
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string_view, Node, plugin::StringHash> map;  // keys view entry->key
    std::list<std::string_view> lru;  // most recent first
    std::size_t bytes = 0;
    std::uint64_t evictions = 0;
  };
  static constexpr std::size_t kShards = 32;
  Shard& shard_of(std::string_view key) { return shards_[(plugin::StringHash{}(key) >> 59) % kShards]; }
  static void remove(Shard& shard, decltype(Shard::map)::iterator it);

  std::size_t max_per_shard_;
  std::atomic<std::uint64_t> generation_{0};
  std::array<Shard, kShards> shards_;
};

}  // namespace portico::plugins::cache
