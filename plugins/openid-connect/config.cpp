#include "plugins/openid-connect/config.hpp"

#include <algorithm>

#include "plugin/limit_by.hpp"
#include "plugins/jwt/jwks.hpp"
#include "plugins/openid-connect/discovery.hpp"

namespace portico::plugins::openid_connect {

namespace {

using schema::Errors;

// Kong's auth_methods; those Portico does not implement are refused by name (a configuration
// never half-works).
const std::vector<std::string> kKongMethods = {"authorization_code", "bearer",   "client_credentials",
                                               "introspection",      "kong_oauth2", "password",
                                               "refresh_token",      "session",  "userinfo"};
const std::vector<std::string> kUnsupportedMethods = {"client_credentials", "kong_oauth2", "password", "userinfo"};
// Kong methods Portico will have and does not have yet.
const std::vector<std::string> kNotYetMethods = {"refresh_token"};
const std::vector<std::string> kClientAuth = {"client_secret_basic", "client_secret_post", "client_secret_jwt",
                                              "private_key_jwt",     "tls_client_auth",    "self_signed_tls_client_auth",
                                              "none"};
const std::vector<std::string> kSupportedClientAuth = {"client_secret_basic", "client_secret_post", "client_secret_jwt",
                                                       "private_key_jwt", "none"};
const std::vector<std::string> kJwsAlgs = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256",
                                           "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"};
constexpr std::size_t kMinSecret = 32;

// RFC 6265 4.1.1: a cookie name is a token.
std::string cookie_name_problem(const std::string& name) { return plugin::is_token(name) ? "" : "not a valid cookie name"; }

std::string cookie_name_problem_or_empty(const std::string& name) { return name.empty() ? "" : cookie_name_problem(name); }

std::string url_problem(const std::string& url) {
  return url.empty() || is_http_url(url) ? "" : "expected an http:// or https:// URL";
}

std::string secret_problem(const std::string& secret) {
  return secret.empty() || secret.size() >= kMinSecret
             ? ""
             : "too short: at least " + std::to_string(kMinSecret) + " characters (random, e.g. `openssl rand -base64 32`)";
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

void check_issue_jwt(const IssueJwtConfig& j, Errors& errors) {
  if (!j.enabled()) return;
  const bool hmac = j.algorithm.rfind("HS", 0) == 0;
  if (hmac && j.secret.empty()) errors.push_back({"issue_jwt.secret", "required for " + j.algorithm});
  if (!hmac && j.private_key.empty()) errors.push_back({"issue_jwt.private_key", "required for " + j.algorithm});
  if (hmac && !j.private_key.empty()) errors.push_back({"issue_jwt.private_key", "not used with " + j.algorithm});
  if (!hmac && !j.secret.empty()) errors.push_back({"issue_jwt.secret", "not used with " + j.algorithm});
  if (hmac == j.secret.empty()) return;
  std::string why;
  if (!internal_jwt_key(j, why)) errors.push_back({hmac ? "issue_jwt.secret" : "issue_jwt.private_key", why});
}

// Rules between fields, once each field is valid on its own.
void check_fields(const OidcConfig& c, Errors& errors) {
  for (const std::string& m : c.auth_methods) {
    if (contains(kUnsupportedMethods, m)) {
      errors.push_back({"auth_methods", "'" + m + "' is not supported by Portico's openid-connect (supported: "
                                            "authorization_code, bearer, introspection, session)"});
    } else if (contains(kNotYetMethods, m)) {
      errors.push_back({"auth_methods", "'" + m + "' is not available yet in Portico's openid-connect (supported: "
                                            "authorization_code, bearer, introspection, session)"});
    }
  }
  for (const std::string& a : c.client_auth) {
    if (!contains(kSupportedClientAuth, a)) {
      errors.push_back({"client_auth", "'" + a + "' is not supported yet (client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, none)"});
    }
  }
  if (c.client_id.size() > 1) errors.push_back({"client_id", "one client per plugin entry (Kong's client_arg is not supported)"});
  if (c.client_secret.size() > 1) errors.push_back({"client_secret", "one client per plugin entry"});
  if (c.redirect_uri.size() > 1) errors.push_back({"redirect_uri", "one redirect_uri per plugin entry"});
  const bool code_flow = has_method(c, "authorization_code");
  if (code_flow && c.client_id.empty()) errors.push_back({"client_id", "required for the authorization_code method"});
  if (code_flow && c.redirect_uri.empty()) {
    errors.push_back({"redirect_uri", "required for the authorization_code method (the exact callback URL)"});
  }
  const std::string auth = c.client_auth.empty() ? "client_secret_basic" : c.client_auth.front();
  if (code_flow && auth != "none" && auth != "private_key_jwt" && c.client_secret.empty()) {
    errors.push_back({"client_secret", "required with client_auth " + auth});
  }
  if (auth == "private_key_jwt" || c.introspection_endpoint_auth_method == "private_key_jwt") {
    std::string why;
    if (!client_private_key(c, why)) errors.push_back({"client_jwk", why});
  }
  if (auth == "client_secret_jwt" && !c.client_alg.empty() && c.client_alg.front().rfind("HS", 0) != 0) {
    errors.push_back({"client_alg", "client_secret_jwt signs with the secret: HS256, HS384 or HS512"});
  }
  if (auth == "private_key_jwt" && !c.client_alg.empty() && c.client_alg.front().rfind("HS", 0) == 0) {
    errors.push_back({"client_alg", "private_key_jwt signs with a private key: not " + c.client_alg.front()});
  }
  if (c.using_pseudo_issuer && code_flow) {
    if (c.authorization_endpoint.empty()) errors.push_back({"authorization_endpoint", "required with using_pseudo_issuer"});
    if (c.token_endpoint.empty()) errors.push_back({"token_endpoint", "required with using_pseudo_issuer"});
  }
  if (c.login_action == "redirect" && c.login_redirect_uri.empty()) {
    errors.push_back({"login_redirect_uri", "required with login_action 'redirect'"});
  }
  for (const std::string& t : c.login_tokens) {
    if (t == "introspection") errors.push_back({"login_tokens", "'introspection' is not supported by Portico's openid-connect"});
  }
  if (c.session_cookie_same_site == "None" && c.session_cookie_secure == false) {
    errors.push_back({"session_cookie_secure", "SameSite=None cookies must be Secure (browsers drop them otherwise)"});
  }
  if (c.upstream_headers_claims.size() != c.upstream_headers_names.size()) {
    errors.push_back({"upstream_headers_names", "must name one header for each of upstream_headers_claims"});
  }
  if (!c.session_secret_fallbacks.empty() && c.session_secret.empty()) {
    errors.push_back({"session_secret_fallbacks", "needs session_secret (the secret that seals new cookies)"});
  }
  if (!c.introspection_endpoint_auth_method.empty() && !contains(kSupportedClientAuth, c.introspection_endpoint_auth_method)) {
    errors.push_back({"introspection_endpoint_auth_method",
                      "'" + c.introspection_endpoint_auth_method +
                          "' is not supported yet (client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, none)"});
  }
  if (contains(c.bearer_token_param_type, "cookie") && c.bearer_token_cookie_name.empty()) {
    errors.push_back({"bearer_token_cookie_name", "required when bearer_token_param_type includes 'cookie'"});
  }
  check_issue_jwt(c.issue_jwt, errors);
}

const schema::Record<IssueJwtConfig>& issue_jwt_record() {
  using J = IssueJwtConfig;
  static const schema::Record<J> r = [] {
    schema::Record<J> record;
    record.field("algorithm", &J::algorithm, {.one_of = {"HS256", "HS384", "HS512", "RS256", "ES256", "EdDSA"}})
        .field("secret", &J::secret, {.nullable = true, .check = secret_problem})
        .field("private_key", &J::private_key, {.nullable = true})
        .field("key_id", &J::key_id, {.nullable = true})
        .field("issuer", &J::issuer, {.len_min = 1})
        .field("audience", &J::audience)
        .field("ttl", &J::ttl, {.min = 1, .max = 86400})
        .field("claims", &J::claims);
    return record;
  }();
  return r;
}

}  // namespace

bool has_method(const OidcConfig& config, std::string_view method) { return contains(config.auth_methods, method); }

std::optional<jwt::VerifyKey> client_private_key(const OidcConfig& c, std::string& error) {
  if (!c.client_jwk.is_array() || c.client_jwk.get_array().empty() || !c.client_jwk.get_array().front().is_object()) {
    error = "private_key_jwt needs the client's private key: an array of JWKs (the first signs)";
    return std::nullopt;
  }
  const std::string alg = c.client_alg.empty() ? "" : c.client_alg.front();
  return jwt::signing_key_from_jwk(c.client_jwk.get_array().front().get_object(), alg, error);
}

std::optional<jwt::VerifyKey> internal_jwt_key(const IssueJwtConfig& j, std::string& error) {
  const auto alg = jwt::parse_alg(j.algorithm);
  if (!alg) {
    error = "unknown algorithm";
    return std::nullopt;
  }
  return jwt::make_signing_key(*alg, jwt::is_hmac(*alg) ? j.secret : j.private_key, error);
}

const plugin::ConfigSchema& config_schema() {
  using C = OidcConfig;
  static const plugin::ConfigSchemaOf<C> schema([] {
    schema::Record<C> r;
    const schema::Rules url{.nullable = true, .check = url_problem};
    r.field("issuer", &C::issuer, {.required = true, .check = url_problem})
        .field("using_pseudo_issuer", &C::using_pseudo_issuer)
        .field("authorization_endpoint", &C::authorization_endpoint, url)
        .field("token_endpoint", &C::token_endpoint, url)
        .field("userinfo_endpoint", &C::userinfo_endpoint, url)
        .field("introspection_endpoint", &C::introspection_endpoint, url)
        .field("end_session_endpoint", &C::end_session_endpoint, url)
        .field("jwks_endpoint", &C::jwks_endpoint, url)
        .field("client_id", &C::client_id, {.nullable = true})
        .field("client_secret", &C::client_secret, {.nullable = true})
        .field("client_auth", &C::client_auth, {.one_of = kClientAuth, .nullable = true})
        .field("client_jwk", &C::client_jwk, {.nullable = true})
        .field("client_alg", &C::client_alg, {.one_of = kJwsAlgs, .nullable = true})
        .field("redirect_uri", &C::redirect_uri, {.nullable = true, .check = url_problem})
        .field("scopes", &C::scopes)
        .field("auth_methods", &C::auth_methods, {.one_of = kKongMethods})
        .field("require_proof_key_for_code_exchange", &C::require_proof_key_for_code_exchange)
        .field("verify_nonce", &C::verify_nonce)
        .field("leeway", &C::leeway, {.min = 0, .max = 3600})
        .field("login_action", &C::login_action, {.one_of = {"upstream", "response", "redirect"}})
        .field("login_redirect_uri", &C::login_redirect_uri, {.nullable = true, .check = url_problem})
        .field("login_tokens", &C::login_tokens,
               {.one_of = {"id_token", "access_token", "refresh_token", "tokens", "introspection"}, .nullable = true})
        .field("login_redirect_mode", &C::login_redirect_mode, {.one_of = {"fragment", "query"}})
        .field("logout_uri_suffix", &C::logout_uri_suffix, {.nullable = true})
        .field("logout_methods", &C::logout_methods, {.one_of = {"GET", "POST", "DELETE"}})
        .field("logout_redirect_uri", &C::logout_redirect_uri, {.nullable = true, .check = url_problem})
        .field("refresh_tokens", &C::refresh_tokens)
        .field("session_secret", &C::session_secret, {.nullable = true, .check = secret_problem})
        .field("session_secret_fallbacks", &C::session_secret_fallbacks, {.check = secret_problem})
        .field("session_cookie_name", &C::session_cookie_name, {.len_min = 1, .check = cookie_name_problem})
        .field("session_cookie_path", &C::session_cookie_path, {.len_min = 1})
        .field("session_cookie_domain", &C::session_cookie_domain, {.nullable = true})
        .field("session_cookie_same_site", &C::session_cookie_same_site, {.one_of = {"Strict", "Lax", "None", "Default"}})
        .field("session_cookie_secure", &C::session_cookie_secure)
        .field("session_cookie_http_only", &C::session_cookie_http_only)
        .field("session_rolling_timeout", &C::session_rolling_timeout, {.min = 0})
        .field("session_absolute_timeout", &C::session_absolute_timeout, {.min = 0})
        .field("session_idling_timeout", &C::session_idling_timeout, {.min = 0})
        .field("authorization_cookie_name", &C::authorization_cookie_name, {.len_min = 1, .check = cookie_name_problem})
        .field("authorization_rolling_timeout", &C::authorization_rolling_timeout, {.min = 1, .max = 86400})
        .field("upstream_headers_claims", &C::upstream_headers_claims)
        .field("upstream_headers_names", &C::upstream_headers_names, {.check = plugin::header_name_problem})
        .field("upstream_user_id_header", &C::upstream_user_id_header, {.nullable = true, .check = plugin::header_name_problem})
        .field("upstream_access_token_header", &C::upstream_access_token_header, {.nullable = true})
        .field("consumer_claim", &C::consumer_claim, {.nullable = true})
        .field("consumer_by", &C::consumer_by, {.one_of = {"id", "username", "custom_id"}})
        .field("consumer_optional", &C::consumer_optional)
        .field("userinfo_subject_claim", &C::userinfo_subject_claim, {.len_min = 1})
        .field("bearer_token_param_type", &C::bearer_token_param_type, {.one_of = {"header", "query", "body", "cookie"}})
        .field("bearer_token_cookie_name", &C::bearer_token_cookie_name, {.nullable = true, .check = cookie_name_problem_or_empty})
        .field("issuers_allowed", &C::issuers_allowed, {.nullable = true})
        .field("introspection_endpoint_auth_method", &C::introspection_endpoint_auth_method, {.one_of = kClientAuth, .nullable = true})
        .field("introspection_hint", &C::introspection_hint, {.nullable = true})
        .field("introspection_check_active", &C::introspection_check_active)
        .field("introspect_jwt_tokens", &C::introspect_jwt_tokens)
        .field("cache_introspection", &C::cache_introspection)
        .field("cache_ttl", &C::cache_ttl, {.min = 0})
        .field("cache_ttl_max", &C::cache_ttl_max, {.min = 0, .nullable = true})
        .field("hide_credentials", &C::hide_credentials)
        .field("scopes_required", &C::scopes_required, {.nullable = true})
        .field("scopes_claim", &C::scopes_claim, {.len_min = 1})
        .field("audience_required", &C::audience_required, {.nullable = true})
        .field("audience_claim", &C::audience_claim, {.len_min = 1})
        .field("groups_required", &C::groups_required, {.nullable = true})
        .field("groups_claim", &C::groups_claim, {.len_min = 1})
        .field("roles_required", &C::roles_required, {.nullable = true})
        .field("roles_claim", &C::roles_claim, {.len_min = 1})
        .field("unauthorized_error_message", &C::unauthorized_error_message, {.len_min = 1})
        .field("forbidden_error_message", &C::forbidden_error_message, {.len_min = 1})
        .record<IssueJwtConfig>("issue_jwt", [](C& c) -> IssueJwtConfig& { return c.issue_jwt; }, issue_jwt_record())
        .field("timeout", &C::timeout, {.min = 1, .max = 600000})
        .check(check_fields);
    plugin::add_auth_fields(r);
    return r;
  }());
  return schema;
}

}  // namespace portico::plugins::openid_connect
