#include "proxy/shared_state.hpp"

namespace portico::proxy {
namespace {

template <typename T>
void prune_map(std::map<std::string, std::weak_ptr<T>>& map) {
  for (auto it = map.begin(); it != map.end();) it = it->second.expired() ? map.erase(it) : std::next(it);
}

}  // namespace

void SharedStateRegistry::prune() {
  std::lock_guard lock(mu_);
  prune_map(health_);
  prune_map(retry_budgets_);
  prune_map(upstreams_);
  prune_map(plugin_states_);
}

}  // namespace portico::proxy
