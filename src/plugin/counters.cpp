#include "plugin/counters.hpp"

#include <map>
#include <memory>
#include <mutex>

namespace portico::plugin {
namespace {
struct Registry {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<std::atomic<std::uint64_t>>, std::less<>> counters;
};
Registry& registry() {
  static Registry r;
  return r;
}
}  // namespace

std::atomic<std::uint64_t>& counter(std::string_view name) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  auto it = r.counters.find(name);
  if (it == r.counters.end()) {
    it = r.counters.emplace(std::string(name), std::make_unique<std::atomic<std::uint64_t>>(0)).first;
  }
  return *it->second;
}

std::vector<std::pair<std::string, std::uint64_t>> counter_values() {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (const auto& [name, value] : r.counters) out.emplace_back(name, value->load(std::memory_order_relaxed));
  return out;
}

}  // namespace portico::plugin
