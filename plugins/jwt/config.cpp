#include "plugins/jwt/config.hpp"

#include <algorithm>

#include "plugins/jwt/jws.hpp"

namespace portico::plugins::jwt {

std::shared_ptr<const plugin::ParsedConfig> parse_config(config::YamlReader& r, const YAML::Node& node,
                                                         const std::string& path) {
  auto c = std::make_shared<JwtConfig>();
  c->mark = config::mark_of(node);
  if (!node.IsDefined() || node.IsNull()) return c;
  config::FieldTable fields{
      {"uri_param_names", r.string_list_field(c->uri_param_names)},
      {"cookie_names", r.string_list_field(c->cookie_names)},
      {"header_names", r.string_list_field(c->header_names)},
      {"claims_to_verify", r.string_list_field(c->claims_to_verify)},
      {"key_claim_name", r.string_field(c->key_claim_name)},
      {"secret_is_base64", r.bool_field(c->secret_is_base64)},
      {"maximum_expiration", r.number_field(c->maximum_expiration, 0, 31536000)},
      {"realm", r.nullable_string_field(c->realm)},
      {"issuer", r.string_field(c->issuer)},
      {"audiences", r.string_list_field(c->audiences)},
      {"leeway", r.number_field(c->leeway, 0, 3600)},
      {"required_claims", r.string_list_field(c->required_claims)},
      {"claims_to_headers", [&](const YAML::Node& v, const std::string& p) {
         if (!v.IsMap()) return r.add(v, p, "expected an object of claim: header-name");
         for (const auto& kv : v) {
           std::string claim = kv.first.as<std::string>(""), header = kv.second.as<std::string>("");
           if (!plugin::is_token(header)) r.add(kv.second, p + "." + claim, "not a valid header name");
           else c->claims_to_headers.emplace_back(claim, header);
         }
       }},
      {"max_token_size", r.int_field(c->max_token_size, 256, 1 << 20)},
      {"verification_cache_size", r.int_field(c->verification_cache_size, 0, 10000000)},
      {"jwks_uri", r.string_field(c->jwks_uri)},
      {"jwks_refresh_interval", r.number_field(c->jwks_refresh_interval, 1, 86400)},
      {"jwks_min_refresh_interval", r.number_field(c->jwks_min_refresh_interval, 0, 3600)},
      {"jwks_timeout", r.number_field(c->jwks_timeout, 0.1, 60)},
      {"consumer_claim", r.string_field(c->consumer_claim)},
  };
  plugin::add_auth_fields(r, fields, c->auth);
  r.read_object(node, path, fields);
  if (!c->jwks_uri.empty() && c->jwks_uri.rfind("http://", 0) != 0 && c->jwks_uri.rfind("https://", 0) != 0) {
    r.add(node["jwks_uri"], path + ".jwks_uri", "expected an http:// or https:// URL");
  }
  if (!c->consumer_claim.empty() && c->jwks_uri.empty()) {
    r.add(node["consumer_claim"], path + ".consumer_claim", "only used with jwks_uri");
  }
  for (std::size_t i = 0; i < c->claims_to_verify.size(); ++i) {
    if (c->claims_to_verify[i] != "exp" && c->claims_to_verify[i] != "nbf") {
      r.add(config::element_or(node["claims_to_verify"], i), path + ".claims_to_verify[" + std::to_string(i) + "]",
            "expected one of: exp, nbf");
    }
  }
  bool verifies_exp = std::find(c->claims_to_verify.begin(), c->claims_to_verify.end(), "exp") != c->claims_to_verify.end();
  if (c->maximum_expiration > 0 && !verifies_exp) {
    r.add(node["maximum_expiration"], path + ".maximum_expiration", "requires 'exp' in claims_to_verify");
  }
  plugin::check_realm(r, node, path, c->realm);
  if (c->key_claim_name.empty()) r.add(node["key_claim_name"], path + ".key_claim_name", "must not be empty");
  return c;
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
