#include "plugins/request-throttling/throttle.hpp"

#include <algorithm>

namespace portico::plugins::throttle {

Throttle::Entry Throttle::enter(std::string_view key, int concurrency, int queue_size,
                                const std::shared_ptr<Waiter>& waiter) {
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.keys.find(key);
  if (it == shard.keys.end()) it = shard.keys.emplace(std::string(key), KeyState{}).first;
  KeyState& state = it->second;
  if (state.in_flight < concurrency && state.waiting.empty()) {
    ++state.in_flight;
    return Entry::admitted;
  }
  if (waiter && static_cast<int>(state.waiting.size()) < queue_size) {
    state.waiting.push_back(waiter);
    return Entry::queued;
  }
  if (state.in_flight == 0 && state.waiting.empty()) shard.keys.erase(it);
  return Entry::refused;
}

void Throttle::leave(std::string_view key) {
  Shard& shard = shard_of(key);
  std::shared_ptr<Waiter> next;
  {
    std::lock_guard lock(shard.mu);
    auto it = shard.keys.find(key);
    if (it == shard.keys.end()) return;  // cannot happen for an admitted request
    KeyState& state = it->second;
    if (!state.waiting.empty()) {
      next = std::move(state.waiting.front());  // the slot passes on: in_flight is unchanged
      state.waiting.pop_front();
      next->granted = true;
    } else if (--state.in_flight <= 0) {
      shard.keys.erase(it);
    }
  }
  if (next) {
    Waiter::wake(next);  // on the waiter's own loop
  }
}

void Throttle::release(std::string_view key) {
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.keys.find(key);
  if (it != shard.keys.end() && --it->second.in_flight <= 0 && it->second.waiting.empty()) shard.keys.erase(it);
}

bool Throttle::abandon(std::string_view key, const std::shared_ptr<Waiter>& waiter) {
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mu);
  if (waiter->granted) return false;
  auto it = shard.keys.find(key);
  if (it == shard.keys.end()) return true;
  auto& waiting = it->second.waiting;
  waiting.erase(std::remove(waiting.begin(), waiting.end(), waiter), waiting.end());
  if (it->second.in_flight == 0 && waiting.empty()) shard.keys.erase(it);
  return true;
}

std::size_t Throttle::keys() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.keys.size();
  }
  return n;
}

int Throttle::in_flight(std::string_view key) const {
  const Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.keys.find(key);
  return it == shard.keys.end() ? 0 : it->second.in_flight;
}

}  // namespace portico::plugins::throttle
