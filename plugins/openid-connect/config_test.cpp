// The openid-connect plugin's configuration: Kong's documented examples read as written, and
// every mistake (or a feature Portico does not have) refused with the field's path.
#include "plugins/openid-connect/config.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace portico::plugins::openid_connect {
namespace {

namespace json = boost::json;

std::shared_ptr<const OidcConfig> read(const json::value& input, schema::Errors& errors) {
  return std::static_pointer_cast<const OidcConfig>(config_schema().read(input, errors, schema::Input::typed, "config"));
}

std::string errors_of(std::string_view text) {
  schema::Errors errors;
  const json::value input = json::parse(text);
  EXPECT_EQ(read(input, errors), nullptr) << text;
  std::string out;
  for (const auto& e : errors) out += e.path.substr(e.path.rfind("config.", 0) == 0 ? 7 : 0) + ": " + e.message + "\n";
  return out;
}

// Kong's session-authentication example, as its documentation writes it.
constexpr const char* kKongExample = R"({
  "issuer": "http://keycloak.test:8080/realms/example/.well-known/openid-configuration",
  "client_id": ["kong"],
  "client_secret": ["kong-secret"],
  "redirect_uri": ["http://kong.test:8000/example"],
  "session_secret": "b5pb1/z6Xw6kx9WZUrR0MZfpvHRjYr1lAbDflVSr40Y=",
  "auth_methods": ["authorization_code", "session"],
  "scopes": ["openid", "email", "profile"]
})";

TEST(OidcConfig, ReadsKongsExampleWithKongsDefaults) {
  schema::Errors errors;
  auto c = read(json::parse(kKongExample), errors);
  ASSERT_TRUE(c) << (errors.empty() ? "" : errors[0].path + ": " + errors[0].message);
  EXPECT_EQ(c->client_id, std::vector<std::string>{"kong"});
  EXPECT_EQ(c->session_cookie_name, "session");
  EXPECT_EQ(c->session_cookie_same_site, "Lax");
  EXPECT_FALSE(c->session_cookie_secure.has_value());  // Secure when the request came over https
  EXPECT_EQ(c->session_rolling_timeout, 3600);
  EXPECT_EQ(c->session_idling_timeout, 900);
  EXPECT_EQ(c->logout_methods, (std::vector<std::string>{"POST", "DELETE"}));
  EXPECT_EQ(c->login_action, "upstream");
  EXPECT_EQ(c->upstream_access_token_header, "authorization:bearer");
  EXPECT_TRUE(has_method(*c, "session"));
  EXPECT_FALSE(has_method(*c, "bearer"));
  EXPECT_FALSE(c->issue_jwt.enabled());
}

TEST(OidcConfig, RefusesWhatPorticoDoesNotImplementByName) {
  EXPECT_EQ(errors_of(R"({"issuer": "https://idp.example.com", "auth_methods": ["session", "password"]})"),
            "auth_methods: 'password' is not supported by Portico's openid-connect (supported: authorization_code, "
            "bearer, introspection, session)\n");
  EXPECT_EQ(errors_of(R"({"issuer": "https://idp.example.com", "auth_methods": ["refresh_token"]})"),
            "auth_methods: 'refresh_token' is not available yet in Portico's openid-connect (supported: authorization_code, "
            "bearer, introspection, session)\n");
  EXPECT_EQ(errors_of(R"({"issuer": "https://idp.example.com", "auth_methods": ["introspection"],
                          "introspection_endpoint_auth_method": "tls_client_auth"})"),
            "introspection_endpoint_auth_method: 'tls_client_auth' is not supported yet (client_secret_basic, "
            "client_secret_post, client_secret_jwt, private_key_jwt, none)\n");
  EXPECT_EQ(errors_of(R"({"issuer": "https://idp.example.com", "auth_methods": ["session"], "client_auth": ["tls_client_auth"]})"),
            "client_auth: 'tls_client_auth' is not supported yet (client_secret_basic, client_secret_post, client_secret_jwt, "
            "private_key_jwt, none)\n");
  EXPECT_EQ(errors_of(R"({"issuer": "https://idp.example.com", "auth_methods": ["session"], "client_auth": ["private_key_jwt"]})"),
            "client_jwk: private_key_jwt needs the client's private key: an array of JWKs (the first signs)\n");
  EXPECT_EQ(errors_of(R"({"issuer": "https://idp.example.com", "auth_methods": ["session"], "client_auth": ["private_key_jwt"],
                          "client_jwk": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]})"),
            "client_jwk: not a private RSA key (its private members are missing or invalid)\n");
  EXPECT_EQ(errors_of(R"({"issuer": "https://idp.example.com", "auth_methods": ["session"], "client_auth": ["private_key_jwt"],
                          "client_alg": ["HS256"], "client_jwk": [{"kty": "oct", "k": "c2VjcmV0"}]})"),
            "client_alg: private_key_jwt signs with a private key: not HS256\n");
  EXPECT_EQ(errors_of(R"({"issuer": "https://idp.example.com", "auth_methods": ["session"], "client_id": ["a", "b"]})"),
            "client_id: one client per plugin entry (Kong's client_arg is not supported)\n");
}

TEST(OidcConfig, BearerModeAsKongDocumentsIt) {
  schema::Errors errors;
  const json::value input = json::parse(R"({"issuer": "https://idp.example.com", "auth_methods": ["bearer", "introspection"],
      "client_id": ["gateway"], "client_secret": ["s"], "scopes_required": ["read write", "admin"],
      "audience_required": ["api"], "roles_claim": ["realm_access", "roles"]})");
  auto c = read(input, errors);
  ASSERT_TRUE(c) << (errors.empty() ? "" : errors[0].path + ": " + errors[0].message);
  EXPECT_EQ(c->bearer_token_param_type, (std::vector<std::string>{"header", "query", "body"}));
  EXPECT_EQ(c->introspection_hint, "access_token");
  EXPECT_TRUE(c->introspection_check_active);
  EXPECT_TRUE(c->cache_introspection);
  EXPECT_TRUE(c->hide_credentials);
  EXPECT_EQ(c->scopes_claim, std::vector<std::string>{"scope"});
  EXPECT_EQ(c->roles_claim, (std::vector<std::string>{"realm_access", "roles"}));
  EXPECT_EQ(errors_of(R"({"issuer": "https://idp.example.com", "auth_methods": ["bearer"],
                          "bearer_token_param_type": ["cookie"]})"),
            "bearer_token_cookie_name: required when bearer_token_param_type includes 'cookie'\n");
  EXPECT_EQ(errors_of(R"({"issuer": "https://idp.example.com", "auth_methods": ["bearer"],
                          "bearer_token_param_type": ["header", "headers"]})"),
            "bearer_token_param_type[1]: expected one of: header, query, body, cookie\n");
}

TEST(OidcConfig, TheCodeFlowNeedsItsClient) {
  EXPECT_EQ(errors_of(R"({"issuer": "https://idp.example.com"})"),
            "client_id: required for the authorization_code method\n"
            "redirect_uri: required for the authorization_code method (the exact callback URL)\n"
            "client_secret: required with client_auth client_secret_basic\n");
  EXPECT_EQ(errors_of(R"({"issuer": "https://github.com", "using_pseudo_issuer": true, "client_id": ["x"],
                          "client_auth": ["client_secret_post"], "client_secret": ["s"],
                          "redirect_uri": ["http://127.0.0.1:8000/callback"]})"),
            "authorization_endpoint: required with using_pseudo_issuer\ntoken_endpoint: required with using_pseudo_issuer\n");
}

TEST(OidcConfig, RefusesBadValuesWithTheirPaths) {
  const std::string base = R"("issuer": "https://idp.example.com", "auth_methods": ["session"])";
  EXPECT_EQ(errors_of("{" + base + R"(, "session_secret": "short"})"),
            "session_secret: too short: at least 32 characters (random, e.g. `openssl rand -base64 32`)\n");
  EXPECT_EQ(errors_of("{" + base + R"(, "session_cookie_same_site": "None", "session_cookie_secure": false})"),
            "session_cookie_secure: SameSite=None cookies must be Secure (browsers drop them otherwise)\n");
  EXPECT_EQ(errors_of("{" + base + R"(, "upstream_headers_claims": ["email"]})"),
            "upstream_headers_names: must name one header for each of upstream_headers_claims\n");
  EXPECT_EQ(errors_of("{" + base + R"(, "token_endpoint": "ftp://idp.example.com/token"})"),
            "token_endpoint: expected an http:// or https:// URL\n");
  EXPECT_EQ(errors_of("{" + base + R"(, "login_tokens": ["id_token", "introspection"]})"),
            "login_tokens: 'introspection' is not supported by Portico's openid-connect\n");
  EXPECT_EQ(errors_of("{" + base + R"(, "issue_jwt": {"algorithm": "ES256", "secret": "0123456789abcdef0123456789abcdef"}})"),
            "issue_jwt.private_key: required for ES256\nissue_jwt.secret: not used with ES256\n");
  EXPECT_EQ(errors_of("{" + base + R"(, "issue_jwt": {"algorithm": "RS256", "private_key": "-----BEGIN PRIVATE KEY-----"}})"),
            "issue_jwt.private_key: not an unencrypted PEM private key\n");
  EXPECT_EQ(errors_of("{" + base + R"(, "session_cookie_name": "a b"})"), "session_cookie_name: not a valid cookie name\n");
}

}  // namespace
}  // namespace portico::plugins::openid_connect
