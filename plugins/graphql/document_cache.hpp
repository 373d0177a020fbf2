// The graphql plugin's memory of documents (issue 17): a query text seen before is not parsed,
// validated or measured again, and a persisted query's hash finds its text (Apollo's APQ).
// Shared by every worker: a few shards, each a small LRU under its own mutex, held only to
// look up or insert a pointer.
#pragma once

#include <array>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace portico::plugins::graphql {

template <typename T>
class SharedLru {
 public:
  explicit SharedLru(std::size_t capacity) : per_shard_(std::max<std::size_t>(1, capacity / kShards)) {}

  std::shared_ptr<const T> find(std::string_view key) {
    Shard& shard = shard_of(key);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.index.find(std::string(key));
    if (it == shard.index.end()) return nullptr;
    shard.order.splice(shard.order.begin(), shard.order, it->second);  // most recently used first
    return it->second->second;
  }

  void insert(std::string key, std::shared_ptr<const T> value) {
    Shard& shard = shard_of(key);
    std::lock_guard lock(shard.mutex);
    if (const auto it = shard.index.find(key); it != shard.index.end()) {
      it->second->second = std::move(value);
      return;
    }
    shard.order.emplace_front(key, std::move(value));
    shard.index.emplace(std::move(key), shard.order.begin());
    if (shard.order.size() > per_shard_) {
      shard.index.erase(shard.order.back().first);
      shard.order.pop_back();
    }
  }

 private:
  static constexpr std::size_t kShards = 8;
  struct Shard {
    std::mutex mutex;
    std::list<std::pair<std::string, std::shared_ptr<const T>>> order;
    std::unordered_map<std::string, typename std::list<std::pair<std::string, std::shared_ptr<const T>>>::iterator> index;
  };
  Shard& shard_of(std::string_view key) { return shards_[std::hash<std::string_view>{}(key) % kShards]; }

  std::size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace portico::plugins::graphql
