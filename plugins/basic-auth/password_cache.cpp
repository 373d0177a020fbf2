#include "plugins/basic-auth/password_cache.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace portico::plugins {

PasswordCache::PasswordCache(std::chrono::seconds ttl, std::size_t max_entries, double checks_per_second)
    : ttl_(ttl), max_entries_(max_entries), rate_(checks_per_second), tokens_(checks_per_second), refilled_(Clock::now()) {
  hmac_key_.resize(32);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(hmac_key_.data()), static_cast<int>(hmac_key_.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
}

PasswordCache& PasswordCache::shared() {
  // 60 s verdicts, 100,000 entries (a few MB), 100 slow checks per second (~0.6 of a core).
  static PasswordCache cache(std::chrono::seconds(60), 100000, 100);
  return cache;
}

std::string PasswordCache::key(std::string_view credential_id, const crypto::PasswordHash& hash,
                               std::string_view password) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  std::string message;
  message.reserve(hash.salt.size() + password.size());
  message.append(hash.salt).append(password);
  HMAC(EVP_sha256(), hmac_key_.data(), static_cast<int>(hmac_key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  std::string k(credential_id);
  k.push_back('\0');
  k.append(reinterpret_cast<const char*>(mac), mac_len);
  return k;
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
