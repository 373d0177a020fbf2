// A provider's endpoints: from its OpenID discovery document (OpenID Connect Discovery 1.0),
// or written in the configuration for plain OAuth 2.0 providers that publish none (GitHub-style:
// authorize, token and a user-info URL).
#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::plugins::openid_connect {

struct ProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string userinfo_endpoint;       // optional
  std::string jwks_uri;                // required for OpenID providers (ID token signatures)
  std::string introspection_endpoint;  // optional (RFC 8414 / 7662)
  std::string end_session_endpoint;    // optional (RP-Initiated Logout 1.0)
  std::string revocation_endpoint;     // optional (RFC 7009)
  std::vector<std::string> code_challenge_methods_supported;
  bool supports_s256() const;
};

// Where the discovery document of `issuer` is: `issuer` itself when it already ends with
// /.well-known/openid-configuration (Kong accepts either), else the issuer without its
// trailing '/' followed by /.well-known/openid-configuration (Discovery 4.1).
std::string discovery_url(std::string_view issuer);
// The issuer identifier `issuer` names (the discovery suffix and a trailing '/' removed).
std::string issuer_identifier(std::string_view issuer);

// Reads a discovery document. The document's `issuer` must equal `expected_issuer` exactly
// (Discovery 4.3: otherwise a provider could impersonate another); the authorization and token
// endpoints and jwks_uri are required; every endpoint must be an absolute http(s) URL.
// nullopt with `error` naming the member otherwise.
std::optional<ProviderMetadata> parse_discovery(const boost::json::value& document, std::string_view expected_issuer,
                                                std::string& error);

// Whether `url` is an absolute http:// or https:// URL with a host.
bool is_http_url(std::string_view url);

}  // namespace portico::plugins::openid_connect
