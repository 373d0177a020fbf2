// Tokens signed by the provider, verified with the jwt plugin's JWS code: the signature under the
// provider's published key named by the token's kid (the key pins the algorithm: "none", HMAC
// tricks and algorithm swaps fail there), then the claims: an ID token's by OpenID Connect Core
// 1.0, 3.1.3.7; a JWT access token's (bearer mode) by issuer and times.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/jwt/jwks.hpp"

namespace portico::plugins::openid_connect {

struct IdTokenExpectations {
  std::string issuer;     // `iss` must equal it exactly
  std::string client_id;  // must be among `aud`; `azp`, when present, must equal it
  std::string nonce;      // `nonce` must equal it (empty: not checked, e.g. a refreshed ID token without one)
  double leeway = 0;      // seconds of clock skew allowed on exp, iat and nbf
  double now = 0;         // seconds since the epoch
};

// The claims of a token signed with one of `keys` (copied out of the token's buffer), or nullopt
// with `error` saying what failed, prefixed with `what` ("ID token: invalid signature").
std::optional<boost::json::object> verify_signed_token(std::string_view token, const jwt::KeyMap& keys, std::string_view what,
                                                       std::string& error);
// Whether verify_signed_token's `error` was an unknown kid (the keys may have rotated: fetch again).
bool is_unknown_kid(std::string_view error);

// The token's claims (copied out of the token's buffer), or nullopt with `error` saying what
// failed, in words fit for a log ("ID token: expired", "ID token: nonce mismatch").
std::optional<boost::json::object> verify_id_token(std::string_view token, const jwt::KeyMap& keys,
                                                   const IdTokenExpectations& expected, std::string& error);

struct AccessTokenExpectations {
  std::vector<std::string> issuers;  // `iss` must be one of them (the discovered issuer, or issuers_allowed)
  double leeway = 0;                 // seconds of clock skew allowed on exp, nbf and iat
  double now = 0;
};

// What is wrong with a JWT access token's claims ("" when nothing): its issuer, expiry (required),
// not-before and issue time. Audience, scopes and the like are the plugin's requirements.
std::string access_token_claims_problem(const boost::json::object& claims, const AccessTokenExpectations& expected);

}  // namespace portico::plugins::openid_connect
