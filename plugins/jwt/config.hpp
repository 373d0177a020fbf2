// The jwt plugin's configuration (tier 1): Kong's fields and Portico's additions (see
// README.md), parsed and checked when the configuration is loaded.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "plugin/auth.hpp"
#include "plugin/config_schema.hpp"

namespace portico::plugins::jwt {

struct JwtConfig : plugin::ParsedConfig {
  std::vector<std::string> uri_param_names{"jwt"};
  std::vector<std::string> cookie_names;
  std::vector<std::string> header_names{"authorization"};
  std::vector<std::string> claims_to_verify;  // exp, nbf
  std::string key_claim_name = "iss";
  bool secret_is_base64 = false;
  double maximum_expiration = 0;  // seconds; 0: no limit
  std::string realm;
  plugin::AuthOptions auth;
  // Portico additions (see README.md).
  std::string issuer;
  std::vector<std::string> audiences;
  double leeway = 0;  // seconds allowed for clock skew on exp / nbf
  std::vector<std::string> required_claims;
  std::vector<std::pair<std::string, std::string>> claims_to_headers;  // claim -> header
  int max_token_size = 8192;
  int verification_cache_size = 10000;
  // Keys from an identity provider instead of jwt_secrets (see README.md).
  std::string jwks_uri;
  double jwks_refresh_interval = 300;     // seconds
  double jwks_min_refresh_interval = 10;  // seconds between refreshes caused by unknown kids
  double jwks_timeout = 5;                // seconds per fetch
  std::string consumer_claim;             // with jwks_uri: claim naming a consumer (username or custom_id)
};

// Schema::config and Schema::check.
const plugin::ConfigSchema& config_schema();
void check_config(const plugin::ParsedConfig& parsed, const config::DeclarativeConfig& all,
                  const plugin::CheckError& error);

}  // namespace portico::plugins::jwt
