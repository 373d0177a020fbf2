#include "plugins/proxy-cache/fills.hpp"

#include <algorithm>

namespace portico::plugins::cache {

bool Fills::claim(std::string_view key) {
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mu);
  if (shard.fills.find(key) != shard.fills.end()) return false;
  shard.fills.emplace(std::string(key), std::vector<std::shared_ptr<Waiter>>{});
  return true;
}

bool Fills::wait(std::string_view key, const std::shared_ptr<Waiter>& waiter) {
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.fills.find(key);
  if (it == shard.fills.end()) return false;
  it->second.push_back(waiter);
  return true;
}

void Fills::finish(std::string_view key) {
  Shard& shard = shard_of(key);
  std::vector<std::shared_ptr<Waiter>> waiters;
  {
    std::lock_guard lock(shard.mu);
    auto it = shard.fills.find(key);
    if (it == shard.fills.end()) return;
    waiters = std::move(it->second);
    shard.fills.erase(it);
    for (auto& w : waiters) w->granted = true;
  }
  for (auto& w : waiters) Waiter::wake(w);
}

void Fills::abandon(std::string_view key, const std::shared_ptr<Waiter>& waiter) {
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.fills.find(key);
  if (it == shard.fills.end()) return;
  auto& waiting = it->second;
  waiting.erase(std::remove(waiting.begin(), waiting.end(), waiter), waiting.end());
}

std::size_t Fills::in_progress() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.fills.size();
  }
  return n;
}

}  // namespace portico::plugins::cache
