#include "plugins/jwt/verification_cache.hpp"

#include <chrono>

namespace portico::plugins::jwt {
namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

bool VerificationCache::contains(std::string_view token, std::uint64_t verifier) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(token);
  if (it == entries_.end()) return false;
  if (it->second.verifier != verifier || it->second.expires_at <= now_seconds()) {
    entries_.erase(it);
    return false;
  }
  return true;
}

void VerificationCache::remember(std::string_view token, std::uint64_t verifier, double expires_at) {
  if (max_entries_ == 0) return;
  std::lock_guard lock(mu_);
  if (entries_.size() >= max_entries_) {
    double now = now_seconds();
    std::erase_if(entries_, [now](const auto& e) { return e.second.expires_at <= now; });
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  entries_.insert_or_assign(std::string(token), Entry{verifier, expires_at});
}

}  // namespace portico::plugins::jwt
