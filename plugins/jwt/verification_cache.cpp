#include "plugins/jwt/verification_cache.hpp"

#include <chrono>

namespace portico::plugins::jwt {
namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

std::shared_ptr<const VerifiedToken> VerificationCache::find(std::string_view token) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(token);
  if (it == entries_.end()) return nullptr;
  if (it->second->expires_at <= now_seconds()) {
    entries_.erase(it);
    return nullptr;
  }
  return it->second;
}

void VerificationCache::remember(std::string_view token, std::shared_ptr<const VerifiedToken> entry) {
  if (max_entries_ == 0) return;
  std::lock_guard lock(mu_);
  if (entries_.size() >= max_entries_) {
    double now = now_seconds();
    std::erase_if(entries_, [now](const auto& e) { return e.second->expires_at <= now; });
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  entries_.insert_or_assign(std::string(token), std::move(entry));
}

}  // namespace portico::plugins::jwt
