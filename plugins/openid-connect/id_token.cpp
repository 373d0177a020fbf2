#include "plugins/openid-connect/id_token.hpp"

#include <algorithm>

#include "plugins/jwt/jws.hpp"

namespace portico::plugins::openid_connect {

namespace json = boost::json;

namespace {

constexpr char kNoKeyForKid[] = "no provider key for its kid";

std::optional<double> number(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

std::string_view string_claim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// 3.1.3.7 steps 2 to 5, 9 to 11: issuer, audience and authorized party, times, nonce.
std::string claims_problem(const json::object& claims, const IdTokenExpectations& e) {
  const json::value* iss = claims.if_contains("iss");
  if (iss == nullptr || !iss->is_string() || iss->get_string() != e.issuer) return "issuer mismatch";
  if (string_claim(claims, "sub").empty()) return "no subject";
  const json::value* aud = claims.if_contains("aud");
  std::size_t audiences = 0;
  bool ours = false;
  if (aud != nullptr && aud->is_string()) {
    audiences = 1;
    ours = aud->get_string() == e.client_id;
  } else if (aud != nullptr && aud->is_array()) {
    for (const json::value& a : aud->get_array()) {
      ++audiences;
      ours = ours || (a.is_string() && a.get_string() == e.client_id);
    }
  }
  if (!ours) return "issued for another audience";
  const json::value* azp = claims.if_contains("azp");
  if (azp != nullptr && (!azp->is_string() || azp->get_string() != e.client_id)) return "authorized party mismatch";
  if (audiences > 1 && azp == nullptr) return "several audiences and no authorized party";
  const auto exp = number(claims, "exp");
  if (!exp) return "no expiry";
  if (e.now > *exp + e.leeway) return "expired";
  const auto iat = number(claims, "iat");
  if (!iat) return "no issue time";
  if (*iat > e.now + e.leeway) return "issued in the future";
  if (const auto nbf = number(claims, "nbf"); nbf && *nbf > e.now + e.leeway) return "not valid yet";
  if (!e.nonce.empty()) {
    const json::value* nonce = claims.if_contains("nonce");
    if (nonce == nullptr || !nonce->is_string() || nonce->get_string() != e.nonce) return "nonce mismatch";
  }
  return "";
}

}  // namespace

std::optional<json::object> verify_signed_token(std::string_view token, const jwt::KeyMap& keys, std::string_view what,
                                                std::string& error) {
  const std::string prefix = std::string(what) + ": ";
  jwt::Token decoded;
  std::string why;
  if (!jwt::decode_token(token, decoded, why)) {
    error = prefix + why;
    return std::nullopt;
  }
  const json::value* alg = decoded.header.if_contains("alg");
  const json::value* kid = decoded.header.if_contains("kid");
  if (alg == nullptr || !alg->is_string()) {
    error = prefix + "no algorithm";
    return std::nullopt;
  }
  if (kid != nullptr && !kid->is_string()) {
    error = prefix + "invalid kid";
    return std::nullopt;
  }
  // RFC 7515 4.1.11: no extension is understood, so any critical one is refused.
  if (decoded.header.contains("crit")) {
    error = prefix + "unsupported critical header parameters";
    return std::nullopt;
  }
  const auto key = keys.find(kid != nullptr ? std::string_view(kid->get_string()) : std::string_view());
  if (key == keys.end()) {
    error = prefix + kNoKeyForKid;
    return std::nullopt;
  }
  const auto parsed_alg = jwt::parse_alg(alg->get_string());
  if (!parsed_alg || *parsed_alg != key->second.alg) {
    error = prefix + "algorithm '" + std::string(alg->get_string()) + "' is not its key's";
    return std::nullopt;
  }
  if (!jwt::verify_signature(key->second, decoded.signing_input, decoded.signature)) {
    error = prefix + "invalid signature";
    return std::nullopt;
  }
  return json::object(decoded.claims, json::storage_ptr());
}

bool is_unknown_kid(std::string_view error) {
  return error.size() >= std::string_view(kNoKeyForKid).size() &&
         error.substr(error.size() - std::string_view(kNoKeyForKid).size()) == kNoKeyForKid;
}

std::optional<json::object> verify_id_token(std::string_view token, const jwt::KeyMap& keys,
                                            const IdTokenExpectations& expected, std::string& error) {
  auto claims = verify_signed_token(token, keys, "ID token", error);
  if (!claims) return std::nullopt;
  if (std::string problem = claims_problem(*claims, expected); !problem.empty()) {
    error = "ID token: " + problem;
    return std::nullopt;
  }
  return claims;
}

std::string access_token_claims_problem(const json::object& claims, const AccessTokenExpectations& e) {
  const json::value* iss = claims.if_contains("iss");
  if (iss == nullptr || !iss->is_string() ||
      std::find(e.issuers.begin(), e.issuers.end(), std::string_view(iss->get_string())) == e.issuers.end()) {
    return "issuer not allowed";
  }
  const auto exp = number(claims, "exp");
  if (!exp) return "no expiry";
  if (e.now > *exp + e.leeway) return "expired";
  if (const auto nbf = number(claims, "nbf"); nbf && *nbf > e.now + e.leeway) return "not valid yet";
  if (const auto iat = number(claims, "iat"); iat && *iat > e.now + e.leeway) return "issued in the future";
  return "";
}

}  // namespace portico::plugins::openid_connect
