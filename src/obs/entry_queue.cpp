#include "obs/entry_queue.hpp"

namespace portico::obs {
namespace {

// Threads are spread over the slots in the order they first push: with up to kSlots workers
// each has a slot of its own.
std::size_t this_thread_slot(std::size_t slots) {
  static std::atomic<std::size_t> next{0};
  thread_local std::size_t mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine % slots;
}

}  // namespace

bool EntryQueue::push(std::string entry) {
  // Reserve a place first, so producers together never exceed the bound; only when there is
  // one (an increment undone on a full queue would let size() read past the bound meanwhile).
  std::size_t reserved = size_.load(std::memory_order_relaxed);
  do {
    if (reserved >= max_entries_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  } while (!size_.compare_exchange_weak(reserved, reserved + 1, std::memory_order_relaxed));
  Slot& slot = slots_[this_thread_slot(kSlots)];
  std::lock_guard lock(slot.mutex);
  slot.entries.push_back(std::move(entry));
  return true;
}

std::vector<std::string> EntryQueue::take(std::size_t max) {
  std::vector<std::string> out;
  for (std::size_t visited = 0; visited < kSlots && out.size() < max; ++visited) {
    Slot& slot = slots_[next_slot_to_take_];
    next_slot_to_take_ = (next_slot_to_take_ + 1) % kSlots;
    std::lock_guard lock(slot.mutex);
    while (slot.taken < slot.entries.size() && out.size() < max) out.push_back(std::move(slot.entries[slot.taken++]));
    if (slot.taken == slot.entries.size()) {
      slot.entries.clear();  // keeps its capacity for the producer
      slot.taken = 0;
    }
  }
  size_.fetch_sub(out.size(), std::memory_order_relaxed);
  return out;
}

}  // namespace portico::obs
