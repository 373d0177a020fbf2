#include "plugins/jwt/claims.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <chrono>

namespace portico::plugins::jwt {
namespace json = boost::json;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::optional<double> number_claim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

double expiry_of(const json::object& claims) {
  auto exp = number_claim(claims, "exp");
  return exp ? *exp : now_seconds() + 300;
}

namespace {
bool audience_matches(const JwtConfig& config, const json::object& claims) {
  const json::value* aud = claims.if_contains("aud");
  if (aud == nullptr) return false;
  auto accepted = [&](const json::value& v) {
    return v.is_string() && std::find(config.audiences.begin(), config.audiences.end(),
                                      std::string_view(v.as_string())) != config.audiences.end();
  };
  if (aud->is_string()) return accepted(*aud);
  if (!aud->is_array()) return false;
  return std::any_of(aud->as_array().begin(), aud->as_array().end(), accepted);
}
}  // namespace

std::optional<ClaimProblem> check_claims(const JwtConfig& config, const json::object& claims, double now) {
  for (const auto& name : config.claims_to_verify) {
    auto value = number_claim(claims, name);
    if (!value) return ClaimProblem{name, "must be a number"};
    if (name == "exp" && *value <= now - config.leeway) return ClaimProblem{"exp", "token expired"};
    if (name == "nbf" && *value > now + config.leeway) return ClaimProblem{"nbf", "token not valid yet"};
  }
  if (config.maximum_expiration > 0) {
    auto exp = number_claim(claims, "exp");
    if (exp && *exp - now > config.maximum_expiration) return ClaimProblem{"exp", "exceeds maximum allowed expiration"};
  }
  for (const auto& name : config.required_claims) {
    if (!claims.contains(name)) return ClaimProblem{name, "missing"};
  }
  if (!config.issuer.empty()) {
    const json::value* iss = claims.if_contains("iss");
    if (iss == nullptr || !iss->is_string() || iss->as_string() != config.issuer) {
      return ClaimProblem{"iss", "does not match the expected issuer"};
    }
  }
  if (!config.audiences.empty() && !audience_matches(config, claims)) {
    return ClaimProblem{"aud", "does not contain an accepted audience"};
  }
  return std::nullopt;
}

std::string_view forward_claims(const JwtConfig& config, const json::object& claims, plugin::RequestContext& ctx) {
  for (const auto& [claim, header] : config.claims_to_headers) {
    const json::value* v = claims.if_contains(claim);
    if (v == nullptr) continue;
    std::string text = v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
    for (unsigned char c : text) {
      if (c < 0x20 || c == 0x7f) return claim;
    }
    ctx.upstream_headers().set(header, ctx.store(text));
  }
  return {};
}

}  // namespace portico::plugins::jwt
