// A bounded queue of serialized entries (log records, later spans) that worker threads
// produce and one consumer (a writer thread, a sender on the control thread) takes.
//
// Producers never wait for the consumer: each thread pushes into one of a few slots (picked
// once per thread), taking only that slot's mutex, which the consumer holds just long
// enough to swap the slot's entries out. A full queue (max_entries in all slots) drops the
// entry and counts it: a slow disk or a dead endpoint costs log entries, never requests.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace portico::obs {

class EntryQueue {
 public:
  explicit EntryQueue(std::size_t max_entries) : max_entries_(max_entries) {}
  EntryQueue(const EntryQueue&) = delete;
  EntryQueue& operator=(const EntryQueue&) = delete;

  // Any thread. False (and counted in dropped()) when the queue is full.
  bool push(std::string entry);
  // The consumer: up to `max` entries (oldest first within each producer's slot).
  std::vector<std::string> take(std::size_t max);
  std::size_t size() const { return size_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  std::size_t max_entries() const { return max_entries_; }

 private:
  static constexpr std::size_t kSlots = 8;
  struct alignas(64) Slot {
    std::mutex mutex;
    std::vector<std::string> entries;
    std::size_t taken = 0;  // entries before this index were already handed out
  };
  std::array<Slot, kSlots> slots_;
  std::size_t next_slot_to_take_ = 0;  // consumer only: fairness between producers
  const std::size_t max_entries_;
  std::atomic<std::size_t> size_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace portico::obs
