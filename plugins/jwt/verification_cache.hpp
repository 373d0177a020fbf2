// Remembers asymmetric JWTs whose signature was verified, until they expire, so that a
// client presenting the same token again costs a hash lookup instead of an RSA / ECDSA /
// EdDSA verification. Keys are the whole token (compared in full: no hash collision can
// make an unverified token pass) together with the secret that verified it. Bounded:
// when full, expired entries are dropped, and if none expired the cache starts over.
// Shared by the workers (one mutex; held for a lookup only).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace portico::plugins::jwt {

class VerificationCache {
 public:
  explicit VerificationCache(std::size_t max_entries) : max_entries_(max_entries) {}
  bool enabled() const { return max_entries_ > 0; }
  // Whether `token` was verified with `verifier` and has not expired.
  bool contains(std::string_view token, std::uint64_t verifier);
  // `expires_at`: seconds since the epoch (the token's exp).
  void remember(std::string_view token, std::uint64_t verifier, double expires_at);

 private:
  struct Entry {
    std::uint64_t verifier;
    double expires_at;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::size_t max_entries_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
};

}  // namespace portico::plugins::jwt
