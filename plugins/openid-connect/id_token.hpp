// ID token validation (OpenID Connect Core 1.0, 3.1.3.7) with the jwt plugin's JWS code: the
// signature under the provider's published key named by the token's kid (the key pins the
// algorithm: "none", HMAC tricks and algorithm swaps fail there), then the claims.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "plugins/jwt/jwks.hpp"

namespace portico::plugins::openid_connect {

struct IdTokenExpectations {
  std::string issuer;     // `iss` must equal it exactly
  std::string client_id;  // must be among `aud`; `azp`, when present, must equal it
  std::string nonce;      // `nonce` must equal it (empty: not checked, e.g. a refreshed ID token without one)
  double leeway = 0;      // seconds of clock skew allowed on exp, iat and nbf
  double now = 0;         // seconds since the epoch
};

// The token's claims (copied out of the token's buffer), or nullopt with `error` saying what
// failed, in words fit for a log ("ID token: expired", "ID token: nonce mismatch").
std::optional<boost::json::object> verify_id_token(std::string_view token, const jwt::KeyMap& keys,
                                                   const IdTokenExpectations& expected, std::string& error);

}  // namespace portico::plugins::openid_connect
