#include "proxy/shared_state.hpp"

namespace portico::proxy {
namespace {

template <typename T>
void prune_map(std::map<std::string, std::weak_ptr<T>>& map) {
  for (auto it = map.begin(); it != map.end();) it = it->second.expired() ? map.erase(it) : std::next(it);
}

}  // namespace

std::shared_ptr<CircuitBreaker> SharedStateRegistry::circuit_breaker(const std::string& key,
                                                                     const config::CircuitBreakerConfig& config,
                                                                     const std::string& scope_name) {
  std::lock_guard lock(mu_);
  if (auto existing = breakers_[key].lock()) return existing;
  auto fresh = std::make_shared<CircuitBreaker>(config, scope_name);
  breakers_[key] = fresh;
  return fresh;
}

void SharedStateRegistry::prune() {
  std::lock_guard lock(mu_);
  prune_map(health_);
  prune_map(services_);
  prune_map(upstreams_);
  prune_map(breakers_);
}

}  // namespace portico::proxy
