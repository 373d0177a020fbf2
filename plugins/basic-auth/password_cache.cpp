#include "plugins/basic-auth/password_cache.hpp"

#include <algorithm>

namespace portico::plugins {

PasswordCache::PasswordCache(std::chrono::seconds ttl, std::size_t max_entries, double checks_per_second)
    : ttl_(ttl), max_entries_(max_entries), rate_(checks_per_second), tokens_(checks_per_second), refilled_(Clock::now()) {}

PasswordCache& PasswordCache::shared() {
  // 60 s verdicts, 100,000 entries (a few MB), 100 slow checks per second (~0.6 of a core).
  static PasswordCache cache(std::chrono::seconds(60), 100000, 100);
  return cache;
}

std::string PasswordCache::key(std::string_view credential_id, const crypto::PasswordHash& hash,
                               std::string_view password) const {
  return crypto::process_keyed_digest({credential_id, hash.salt, password});
}

PasswordCache::Verdict PasswordCache::lookup(std::string_view credential_id, const crypto::PasswordHash& hash,
                                             std::string_view password) {
  std::string k = key(credential_id, hash, password);
  std::lock_guard lock(mu_);
  auto it = entries_.find(k);
  if (it == entries_.end()) return Verdict::unknown;
  if (it->second.expires <= Clock::now()) {
    entries_.erase(it);
    return Verdict::unknown;
  }
  return it->second.match ? Verdict::match : Verdict::mismatch;
}

bool PasswordCache::take_check_token() {
  std::lock_guard lock(mu_);
  auto now = Clock::now();
  double elapsed = std::chrono::duration<double>(now - refilled_).count();
  tokens_ = std::min(rate_, tokens_ + elapsed * rate_);
  refilled_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

void PasswordCache::remember(std::string_view credential_id, const crypto::PasswordHash& hash, std::string_view password,
                             bool match) {
  std::string k = key(credential_id, hash, password);
  std::lock_guard lock(mu_);
  auto now = Clock::now();
  if (entries_.size() >= max_entries_) {
    std::erase_if(entries_, [now](const auto& e) { return e.second.expires <= now; });
    if (entries_.size() >= max_entries_) entries_.clear();  // a flood of distinct guesses
  }
  entries_[std::move(k)] = {match, now + ttl_};
}

}  // namespace portico::plugins
