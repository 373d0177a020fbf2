// The request-throttling plugin's state: requests in flight per key, for the whole process,
// and each key's FIFO queue of requests waiting for a slot.
//
// A request enters (a slot is free), queues (the queue has room) or is refused. A request
// that leaves hands its slot to the first waiter still waiting, which is woken on its own
// worker's event loop; a waiter that times out leaves the queue. A key with nothing in
// flight and nobody waiting is dropped, so memory follows the requests in flight.
#pragma once

#include "plugin/waiter.hpp"
#include "plugin/string_map.hpp"

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace portico::plugins::throttle {

// A queued request waits on its Waiter, woken when a slot is handed to it.
using plugin::Waiter;

class Throttle {
 public:
  enum class Entry { admitted, queued, refused };

  // Thread-safe. `waiter` is queued when the key has `concurrency` requests in flight and
  // fewer than `queue_size` waiting.
  Entry enter(std::string_view key, int concurrency, int queue_size, const std::shared_ptr<Waiter>& waiter);
  // An admitted request is over: its slot goes to the first waiter, or is freed.
  void leave(std::string_view key);
  // A slot given back without waking anyone (a request ended as its loop was destroyed, at
  // shutdown; the waiters then time out).
  void release(std::string_view key);
  // A queued request stops waiting (timeout, or its request went away). False when it was
  // granted a slot meanwhile: it holds the slot then (and must leave() it).
  bool abandon(std::string_view key, const std::shared_ptr<Waiter>& waiter);

  std::size_t keys() const;
  int in_flight(std::string_view key) const;

 private:
  struct KeyState {
    int in_flight = 0;
    std::deque<std::shared_ptr<Waiter>> waiting;
  };
  struct Shard {
    mutable std::mutex mu;
    plugin::StringMap<KeyState> keys;
  };
  Shard& shard_of(std::string_view key) { return shards_[(plugin::StringHash{}(key) >> 58) % shards_.size()]; }
  const Shard& shard_of(std::string_view key) const { return shards_[(plugin::StringHash{}(key) >> 58) % shards_.size()]; }
  std::array<Shard, 16> shards_;
};

}  // namespace portico::plugins::throttle
