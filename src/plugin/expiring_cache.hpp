// Remembers work done on a client's credential (a verified JWT's claims, an opened session
// cookie) until the result expires: a client presenting the same credential again costs a hash
// lookup instead of decoding and cryptography. The checks that depend on the time still run on
// every request (the entry's own `expires_at` only bounds how long it is kept).
//
// Keys are the whole credential text, compared in full (no hash collision can make an unchecked
// credential pass); hashed by their tail (CredentialHash). Bounded: when full, expired entries are dropped, and if none expired the
// cache starts over. Shared by the workers (one mutex, held for a lookup only); entries are
// immutable once inserted. `Entry` has a `double expires_at` (seconds since the epoch).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace portico::plugin {

// Hashes a credential by its length and its last 32 bytes instead of all of it (a 300-byte
// session cookie hashed in full cost more than the rest of a lookup). The tail of a signed or
// sealed credential is its signature or AEAD tag: for a credential in the cache (only verified
// ones are remembered) bytes no client can choose, so the tails spread like the full keys
// would. Lookups still compare keys in full.
struct CredentialHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    constexpr std::size_t kTail = 32;
    const std::string_view tail = s.size() > kTail ? s.substr(s.size() - kTail) : s;
    return std::hash<std::string_view>{}(tail) ^ (s.size() * 0x9E3779B97F4A7C15ull);
  }
};

template <typename Entry>
class ExpiringCache {
 public:
  explicit ExpiringCache(std::size_t max_entries) : max_entries_(max_entries) {}
  bool enabled() const { return max_entries_ > 0; }

  // The entry for `key` if present and not expired.
  std::shared_ptr<const Entry> find(std::string_view key) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    if (it->second->expires_at <= now_seconds()) {
      entries_.erase(it);
      return nullptr;
    }
    return it->second;
  }

  void remember(std::string_view key, std::shared_ptr<const Entry> entry) {
    if (max_entries_ == 0) return;
    std::lock_guard lock(mu_);
    if (entries_.size() >= max_entries_) {
      const double now = now_seconds();
      std::erase_if(entries_, [now](const auto& e) { return e.second->expires_at <= now; });
      if (entries_.size() >= max_entries_) entries_.clear();
    }
    entries_.insert_or_assign(std::string(key), std::move(entry));
  }

 private:
  static double now_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  std::size_t max_entries_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const Entry>, CredentialHash, std::equal_to<>> entries_;
};

}  // namespace portico::plugin
