// Request coalescing for the proxy cache: which keys are being fetched from the upstream
// right now (by one request, the filler) and which requests wait for that fetch.
//
// The first miss for a key claims its fill and goes upstream; the next ones wait (each on its
// own worker's loop, woken through its mailbox) until the filler finishes, then look the key
// up again. Waits are bounded by the caller's timer: a waiter that times out goes upstream
// itself. One per cache store, shared by all workers; 16 shards.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "plugin/string_map.hpp"
#include "plugin/waiter.hpp"

namespace portico::plugins::cache {

using plugin::Waiter;

class Fills {
 public:
  // True when nobody was filling `key`: the caller is now its filler and must finish() it.
  bool claim(std::string_view key);
  // Queues `waiter` for the fill of `key`; false when no fill is in progress (look again).
  bool wait(std::string_view key, const std::shared_ptr<Waiter>& waiter);
  // The filler is done (stored or not): every waiter is woken.
  void finish(std::string_view key);
  // A waiter stops waiting (it timed out, or its request went away).
  void abandon(std::string_view key, const std::shared_ptr<Waiter>& waiter);
  std::size_t in_progress() const;

 private:
  struct Shard {
    mutable std::mutex mu;
    plugin::StringMap<std::vector<std::shared_ptr<Waiter>>> fills;  // key -> its waiters
  };
  Shard& shard_of(std::string_view key) { return shards_[(plugin::StringHash{}(key) >> 58) % shards_.size()]; }
  std::array<Shard, 16> shards_;
};

}  // namespace portico::plugins::cache
