#include "plugins/proxy-cache/cache_store.hpp"

#include <algorithm>
#include <limits>

namespace portico::plugins::cache {

CacheStore::CacheStore(std::size_t max_bytes) : max_per_shard_(std::max<std::size_t>(1, max_bytes / kShards)) {}

void CacheStore::remove(Shard& shard, decltype(Shard::map)::iterator it) {
  shard.bytes -= it->second.entry->cost();
  shard.lru.erase(it->second.lru);
  shard.map.erase(it);  // the key's view dies with the map's node, before the entry may
}

std::shared_ptr<const CachedResponse> CacheStore::find(std::string_view key, std::int64_t now_ms) {
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.map.find(key);
  if (it == shard.map.end()) return nullptr;
  if (now_ms >= it->second.entry->keep_until_ms) {
    remove(shard, it);
    return nullptr;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second.lru);
  return it->second.entry;
}

bool CacheStore::put(std::shared_ptr<const CachedResponse> entry, std::optional<std::uint64_t> if_generation) {
  const std::size_t cost = entry->cost();
  if (cost > max_per_shard_) return false;
  Shard& shard = shard_of(entry->key);
  std::lock_guard lock(shard.mu);
  // Purges count before they erase, so a put that passes this check under the shard's lock
  // is either seen by the purge's erase or happened before the purge began.
  if (if_generation && generation() != *if_generation) return false;
  if (auto it = shard.map.find(std::string_view(entry->key)); it != shard.map.end()) remove(shard, it);
  while (shard.bytes + cost > max_per_shard_ && !shard.lru.empty()) {
    remove(shard, shard.map.find(shard.lru.back()));
    ++shard.evictions;
  }
  std::string_view key(entry->key);
  shard.lru.push_front(key);
  shard.map.emplace(key, Node{std::move(entry), shard.lru.begin()});
  shard.bytes += cost;
  return true;
}

bool CacheStore::erase(std::string_view key) {
  generation_.fetch_add(1, std::memory_order_acq_rel);
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.map.find(key);
  if (it == shard.map.end()) return false;
  remove(shard, it);
  return true;
}

std::shared_ptr<const CachedResponse> CacheStore::find_shown(std::string_view key_hex, std::int64_t now_ms) const {
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& [key, node] : shard.map) {
      if (node.entry->key_hex == key_hex && now_ms < node.entry->keep_until_ms) return node.entry;
    }
  }
  return nullptr;
}

bool CacheStore::erase_shown(std::string_view key_hex) {
  auto found = find_shown(key_hex, std::numeric_limits<std::int64_t>::min());
  return found != nullptr && erase(found->key);
}

std::size_t CacheStore::erase_path(std::string_view path, bool prefix) {
  generation_.fetch_add(1, std::memory_order_acq_rel);
  std::size_t erased = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (auto it = shard.map.begin(); it != shard.map.end();) {
      const std::string& p = it->second.entry->path;
      bool matches = prefix ? std::string_view(p).starts_with(path) : p == path;
      auto next = std::next(it);
      if (matches) {
        remove(shard, it);
        ++erased;
      }
      it = next;
    }
  }
  return erased;
}

std::size_t CacheStore::clear() {
  generation_.fetch_add(1, std::memory_order_acq_rel);
  std::size_t erased = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    erased += shard.map.size();
    shard.map.clear();
    shard.lru.clear();
    shard.bytes = 0;
  }
  return erased;
}

std::size_t CacheStore::bytes() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.bytes;
  }
  return n;
}

std::size_t CacheStore::entries() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.map.size();
  }
  return n;
}

std::uint64_t CacheStore::evictions() const {
  std::uint64_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.evictions;
  }
  return n;
}

}  // namespace portico::plugins::cache
