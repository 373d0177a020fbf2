// The openid-connect plugin's configuration (tier 1): Kong's field names and defaults where
// Kong has them (its openid-connect plugin), Portico's additions documented in README.md.
// Features not built yet are refused here, by name, so that a configuration never half-works.
#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plugin/auth.hpp"
#include "plugin/config_schema.hpp"
#include "plugins/jwt/jws.hpp"

namespace portico::plugins::openid_connect {

// Portico's `issue_jwt`: an internal token minted after login.
struct IssueJwtConfig {
  std::string algorithm = "HS256";  // HS256/384/512, RS256, ES256, EdDSA
  std::string secret;               // HS*
  std::string private_key;          // PEM, the others
  std::string key_id;               // the token's kid (optional)
  std::string issuer = "portico";   // its iss
  std::vector<std::string> audience;
  int ttl = 300;                    // seconds
  // claim of the minted token -> claim of the ID token (or user info) it is copied from
  std::vector<std::pair<std::string, std::string>> claims{{"sub", "sub"}};
  // Set when a key is configured: without one, no token is minted.
  bool enabled() const { return !secret.empty() || !private_key.empty(); }
};

struct OidcConfig : plugin::ParsedConfig {
  // --- the provider
  std::string issuer;  // discovery URL or issuer identifier (required)
  bool using_pseudo_issuer = false;  // Kong: no discovery; endpoints from the fields below
  std::string authorization_endpoint, token_endpoint, userinfo_endpoint, introspection_endpoint,
      end_session_endpoint, jwks_endpoint;
  // --- the client
  std::vector<std::string> client_id, client_secret;
  // client_secret_basic (default), client_secret_post, client_secret_jwt, private_key_jwt, none
  std::vector<std::string> client_auth;
  boost::json::value client_jwk;        // private_key_jwt: an array of private JWKs (the first signs)
  std::vector<std::string> client_alg;  // the *_jwt methods' algorithm (default: the key's; HS256)
  std::vector<std::string> redirect_uri;
  std::vector<std::string> scopes{"openid"};
  // Kong's default lists all nine of its methods; Portico's, those it implements.
  std::vector<std::string> auth_methods{"authorization_code", "bearer", "introspection", "session"};
  std::optional<bool> require_proof_key_for_code_exchange;  // unset: when discovery lists S256
  bool verify_nonce = true;
  double leeway = 0;
  // --- after login
  std::string login_action = "upstream";  // upstream | response | redirect
  std::vector<std::string> login_redirect_uri;
  // What `response` answers and `redirect` appends (Kong's); `token` (issue_jwt's) comes too.
  std::vector<std::string> login_tokens{"id_token"};
  std::string login_redirect_mode = "fragment";  // or query
  std::string logout_uri_suffix;
  std::vector<std::string> logout_methods{"POST", "DELETE"};
  std::vector<std::string> logout_redirect_uri;
  bool refresh_tokens = true;
  // --- session
  std::string session_secret;
  std::vector<std::string> session_secret_fallbacks;  // Portico: rotation
  std::string session_cookie_name = "session";
  std::string session_cookie_path = "/";
  std::string session_cookie_domain;
  std::string session_cookie_same_site = "Lax";
  std::optional<bool> session_cookie_secure;  // unset: Secure when the request came over https
  bool session_cookie_http_only = true;
  double session_rolling_timeout = 3600, session_absolute_timeout = 86400, session_idling_timeout = 900;
  std::string authorization_cookie_name = "authorization";
  double authorization_rolling_timeout = 600;
  // --- identity to the upstream
  std::vector<std::string> upstream_headers_claims, upstream_headers_names;
  std::string upstream_user_id_header = "X-User-ID";  // Portico
  std::string upstream_access_token_header = "authorization:bearer";
  std::vector<std::string> consumer_claim;
  std::vector<std::string> consumer_by{"username", "custom_id"};
  bool consumer_optional = false;
  std::string userinfo_subject_claim = "sub";  // Portico: GitHub's /user names the user "id"
  // --- bearer tokens (auth_methods bearer: JWTs signed by the provider; introspection: RFC 7662)
  std::vector<std::string> bearer_token_param_type{"header", "query", "body"};  // and cookie
  std::string bearer_token_cookie_name;
  std::vector<std::string> issuers_allowed;  // empty: the discovered issuer
  std::string introspection_endpoint_auth_method;  // empty: as client_auth
  std::string introspection_hint = "access_token";
  bool introspection_check_active = true;
  bool introspect_jwt_tokens = false;
  bool cache_introspection = true;
  double cache_ttl = 3600;      // seconds an answer without exp is kept
  double cache_ttl_max = 0;     // 0: no bound but the token's expiry
  bool hide_credentials = true;  // the token is removed from where the client sent it
  // Requirements (requirements.hpp): alternatives of space-separated sets.
  std::vector<std::string> scopes_required, audience_required, groups_required, roles_required;
  std::vector<std::string> scopes_claim{"scope"}, audience_claim{"aud"}, groups_claim{"groups"}, roles_claim{"roles"};
  std::string unauthorized_error_message = "Unauthorized";
  std::string forbidden_error_message = "Forbidden";
  // --- Portico: an internal token after login
  IssueJwtConfig issue_jwt;
  double timeout = 10000;  // Kong's: ms per call to the provider
  plugin::AuthOptions auth;
};

const plugin::ConfigSchema& config_schema();

// Whether `methods` (auth_methods) holds `method`.
bool has_method(const OidcConfig& config, std::string_view method);

// private_key_jwt's key: the first of client_jwk, for the first client_alg; nullopt with `error`.
std::optional<jwt::VerifyKey> client_private_key(const OidcConfig& c, std::string& error);

// issue_jwt's signing key (the secret, or the PEM private key), or nullopt with `error`.
std::optional<jwt::VerifyKey> internal_jwt_key(const IssueJwtConfig& j, std::string& error);

}  // namespace portico::plugins::openid_connect
