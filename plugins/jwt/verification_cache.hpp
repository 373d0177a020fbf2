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
#include <string>
#include <string_view>

#include "plugin/expiring_cache.hpp"

namespace portico::plugins::jwt {

struct VerifiedToken {
  boost::json::object claims;
  std::uint64_t verifier = 0;    // which key verified it
  double expires_at = 0;         // seconds since the epoch
  const void* secret = nullptr;  // the jwt_secret entry it matched (jwt_secrets mode)
  std::string kid;               // the provider key's id (jwks_uri mode)
};

using VerificationCache = plugin::ExpiringCache<VerifiedToken>;

}  // namespace portico::plugins::jwt
