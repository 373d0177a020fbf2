// Process-wide mutable state that must outlive a configuration snapshot and be seen by
// every worker: target health, per-service retry budgets, per-upstream limits, plugins'
// shared state (e.g. circuit breakers). Snapshots hold shared_ptrs to these objects; the
// registry hands the same object to the next snapshot when its key (entity id plus the
// configuration that shapes it) is unchanged, so a reload keeps what was learnt.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <functional>

#include "proxy/retry_budget.hpp"
#include "proxy/target_health.hpp"

namespace portico::proxy {

// Per upstream: Envoy-style limits' counters (all workers).
struct UpstreamState {
  std::atomic<std::int32_t> connections{0};  // open upstream connections, pooled or in use
  std::atomic<std::int32_t> pending{0};      // requests waiting for a new connection
  std::atomic<std::int32_t> requests{0};     // requests in flight
};

// Owned by the Gateway; used by the snapshot builder (control thread only).
class SharedStateRegistry {
 public:
  std::shared_ptr<TargetHealth> target_health(const std::string& key) { return get(health_, key); }
  // A service's budget; a change of its settings starts a fresh one.
  std::shared_ptr<RetryBudget> retry_budget(const std::string& service_key, int percent, int min_per_second) {
    std::string key = service_key + ":" + std::to_string(percent) + "/" + std::to_string(min_per_second);
    return get(retry_budgets_, key, [&] { return std::make_shared<RetryBudget>(percent, min_per_second); });
  }
  std::shared_ptr<UpstreamState> upstream_state(const std::string& key) { return get(upstreams_, key); }
  // A plugin's state shared by workers and kept across reloads while `key` (which should
  // include the plugin entry's identity and the config that shapes the state) is unchanged.
  template <typename T>
  std::shared_ptr<T> plugin_state(const std::string& key, const std::function<std::shared_ptr<T>()>& make) {
    std::lock_guard lock(mu_);
    auto& slot = plugin_states_[key];
    if (auto existing = std::static_pointer_cast<T>(slot.lock())) return existing;
    auto fresh = make();
    slot = fresh;
    return fresh;
  }

 // Forgets objects no snapshot uses any more (called before each build).
  void prune();

 private:
  template <typename T, typename Make = std::shared_ptr<T> (*)()>
  std::shared_ptr<T> get(std::map<std::string, std::weak_ptr<T>>& map, const std::string& key,
                         Make make = [] { return std::make_shared<T>(); }) {
    std::lock_guard lock(mu_);
    if (auto existing = map[key].lock()) return existing;
    auto fresh = make();
    map[key] = fresh;
    return fresh;
  }

  std::mutex mu_;
  std::map<std::string, std::weak_ptr<TargetHealth>> health_;
  std::map<std::string, std::weak_ptr<RetryBudget>> retry_budgets_;
  std::map<std::string, std::weak_ptr<UpstreamState>> upstreams_;
  // Keys are namespaced by plugin name (see BuildContext::key), so one type per key.
  std::map<std::string, std::weak_ptr<void>> plugin_states_;
};

}  // namespace portico::proxy
