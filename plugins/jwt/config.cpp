#include "plugins/jwt/config.hpp"

#include <algorithm>

#include "plugins/jwt/jws.hpp"

namespace portico::plugins::jwt {

namespace {

std::string header_name_problem(const std::string& name) { return plugin::is_token(name) ? "" : "not a valid header name"; }

// Rules between fields, once each field is valid on its own.
void check_fields(const JwtConfig& c, schema::Errors& errors) {
  if (!c.jwks_uri.empty() && c.jwks_uri.rfind("http://", 0) != 0 && c.jwks_uri.rfind("https://", 0) != 0) {
    errors.push_back({"jwks_uri", "expected an http:// or https:// URL"});
  }
  if (!c.consumer_claim.empty() && c.jwks_uri.empty()) errors.push_back({"consumer_claim", "only used with jwks_uri"});
  bool verifies_exp = std::find(c.claims_to_verify.begin(), c.claims_to_verify.end(), "exp") != c.claims_to_verify.end();
  if (c.maximum_expiration > 0 && !verifies_exp) {
    errors.push_back({"maximum_expiration", "requires 'exp' in claims_to_verify"});
  }
}

}  // namespace

const plugin::ConfigSchema& config_schema() {
  using C = JwtConfig;
  static const plugin::ConfigSchemaOf<C> schema([] {
    schema::Record<C> r;
    r.field("uri_param_names", &C::uri_param_names)
        .field("cookie_names", &C::cookie_names)
        .field("header_names", &C::header_names)
        .field("claims_to_verify", &C::claims_to_verify, {.one_of = {"exp", "nbf"}})
        .field("key_claim_name", &C::key_claim_name, {.len_min = 1})
        .field("secret_is_base64", &C::secret_is_base64)
        .field("maximum_expiration", &C::maximum_expiration, {.min = 0, .max = 31536000})
        .field("realm", &C::realm, {.nullable = true, .check = plugin::realm_problem})
        .field("issuer", &C::issuer)
        .field("audiences", &C::audiences)
        .field("leeway", &C::leeway, {.min = 0, .max = 3600})
        .field("required_claims", &C::required_claims)
        .field("claims_to_headers", &C::claims_to_headers, {.check = header_name_problem})
        .field("max_token_size", &C::max_token_size, {.min = 256, .max = 1 << 20})
        .field("verification_cache_size", &C::verification_cache_size, {.min = 0, .max = 10000000})
        .field("jwks_uri", &C::jwks_uri)
        .field("jwks_refresh_interval", &C::jwks_refresh_interval, {.min = 1, .max = 86400})
        .field("jwks_min_refresh_interval", &C::jwks_min_refresh_interval, {.min = 0, .max = 3600})
        .field("jwks_timeout", &C::jwks_timeout, {.min = 0.1, .max = 60})
        .field("consumer_claim", &C::consumer_claim)
        .check(check_fields);
    plugin::add_auth_fields(r);
    return r;
  }());
  return schema;
}

// Every jwt_secret must make a usable key for its algorithm (checked once a jwt plugin is
// configured, so that a bad key is a configuration error rather than a failed snapshot).
void check_config(const plugin::ParsedConfig& parsed, const config::DeclarativeConfig& all,
                  const plugin::CheckError& error) {
  const auto& c = static_cast<const JwtConfig&>(parsed);
  plugin::check_auth_options(c.auth, all, error);
  for (const auto& consumer : all.consumers) {
    for (const auto& s : consumer.jwt_secrets) {
      std::string why;
      auto alg = parse_alg(s.algorithm);
      if (!alg) continue;  // reported by the consumer reader
      const std::string& material = is_hmac(*alg) ? s.secret : s.rsa_public_key;
      if (!make_key(*alg, material, c.secret_is_base64, why)) {
        error(s.mark, "", "jwt_secret '" + s.key + "' of consumer '" + consumer.username + "': " + why);
      }
    }
  }
}

}  // namespace portico::plugins::jwt
