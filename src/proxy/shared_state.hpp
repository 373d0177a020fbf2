// Process-wide mutable state that must outlive a configuration snapshot and be seen by
// every worker: target health, per-service request/retry counts (retry budget), per-
// upstream limits, plugins' shared state (e.g. circuit breakers). Snapshots hold shared_ptrs to these objects; the
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

#include "proxy/target_health.hpp"

namespace portico::proxy {

// Per service: the retry budget's inputs.
struct ServiceState {
  std::atomic<std::int32_t> active_requests{0};
  std::atomic<std::int32_t> active_retries{0};
};

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
  std::shared_ptr<ServiceState> service_state(const std::string& key) { return get(services_, key); }
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
  template <typename T>
  std::shared_ptr<T> get(std::map<std::string, std::weak_ptr<T>>& map, const std::string& key) {
    std::lock_guard lock(mu_);
    if (auto existing = map[key].lock()) return existing;
    auto fresh = std::make_shared<T>();
    map[key] = fresh;
    return fresh;
  }

  std::mutex mu_;
  std::map<std::string, std::weak_ptr<TargetHealth>> health_;
  std::map<std::string, std::weak_ptr<ServiceState>> services_;
  std::map<std::string, std::weak_ptr<UpstreamState>> upstreams_;
  // Keys are namespaced by plugin name (see BuildContext::key), so one type per key.
  std::map<std::string, std::weak_ptr<void>> plugin_states_;
};

}  // namespace portico::proxy
