// Remembers JWTs whose signature was verified, with their decoded claims, until they
// expire: a client presenting the same token again costs a hash lookup instead of base64,
// JSON and signature work (an RSA / ECDSA / EdDSA verification above all). The claims
// checks that depend on the time (exp, nbf) still run on every request.
//
// Keys are the whole token, compared in full (no hash collision can make an unverified
// token pass), and an entry also names the key that verified it (`verifier`): an entry
// made under a key that is gone (a JWKS refresh) is not used. Bounded: when full, expired
// entries are dropped, and if none expired the cache starts over. Shared by the workers
// (one mutex, held for a lookup only); entries are immutable once inserted.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "plugin/string_map.hpp"

namespace portico::plugins::jwt {

struct VerifiedToken {
  boost::json::object claims;
  std::uint64_t verifier = 0;    // which key verified it
  double expires_at = 0;         // seconds since the epoch
  const void* secret = nullptr;  // the jwt_secret entry it matched (jwt_secrets mode)
  std::string kid;               // the provider key's id (jwks_uri mode)
};

class VerificationCache {
 public:
  explicit VerificationCache(std::size_t max_entries) : max_entries_(max_entries) {}
  bool enabled() const { return max_entries_ > 0; }
  // The entry for `token` if present and not expired.
  std::shared_ptr<const VerifiedToken> find(std::string_view token);
  void remember(std::string_view token, std::shared_ptr<const VerifiedToken> entry);

 private:
  std::size_t max_entries_;
  std::mutex mu_;
  plugin::StringMap<std::shared_ptr<const VerifiedToken>> entries_;
};

}  // namespace portico::plugins::jwt
