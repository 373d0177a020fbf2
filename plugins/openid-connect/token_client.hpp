// The plugin's calls to the provider from a worker (login callbacks and refreshes are rare
// next to requests; each is one exchange on its own connection through net::http_send, TLS
// verified): the token endpoint (authorization code and refresh grants, RFC 6749 4.1.3 and 6)
// and the user-info endpoint.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "plugins/jwt/jws.hpp"

namespace portico::plugins::openid_connect {

// Where a call goes: the endpoint's URL and its host's addresses (resolved beforehand on the
// control thread: a worker's loop cannot resolve).
struct Endpoint {
  std::string url;
  std::vector<boost::asio::ip::tcp::endpoint> addresses;
};

// How the gateway authenticates to the provider (OpenID Connect Core 9).
struct ClientCredentials {
  std::string id, secret;
  // client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, none
  std::string auth_method = "client_secret_basic";
  // The *_jwt methods send a client assertion (RFC 7523): signed with `private_key`
  // (client_jwk; its `private_key_id` as kid) or, for client_secret_jwt, with the secret under
  // `secret_alg`; for `audience`, the provider's token endpoint.
  std::shared_ptr<const jwt::VerifyKey> private_key;
  std::string private_key_id;
  jwt::Alg secret_alg = jwt::Alg::HS256;
  std::string audience;
};

// The client assertion of a *_jwt method ("" when it cannot be signed).
std::string client_assertion(const ClientCredentials& client, double now);

struct TokenResponse {
  bool ok = false;
  std::string error;  // not ok: what went wrong, for logs and the client's message
  bool unreachable = false;  // no answer from the provider (a 502 rather than a 401)
  std::string access_token, id_token, refresh_token;
  double expires_in = 0;  // seconds; 0: not said
};

// application/x-www-form-urlencoded (RFC 6749 appendix B).
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

boost::asio::awaitable<TokenResponse> redeem_code(boost::asio::io_context& io, const Endpoint& token_endpoint,
                                                  const ClientCredentials& client, const std::string& code,
                                                  const std::string& redirect_uri, const std::string& code_verifier,
                                                  std::chrono::milliseconds timeout);
boost::asio::awaitable<TokenResponse> refresh_tokens(boost::asio::io_context& io, const Endpoint& token_endpoint,
                                                     const ClientCredentials& client, const std::string& refresh_token,
                                                     std::chrono::milliseconds timeout);

struct UserInfo {
  bool ok = false;
  std::string error;
  bool unreachable = false;
  boost::json::object claims;
};
boost::asio::awaitable<UserInfo> fetch_userinfo(boost::asio::io_context& io, const Endpoint& endpoint,
                                                 const std::string& access_token, std::chrono::milliseconds timeout);

// An introspection (RFC 7662) answer: `claims` as the provider sent them (active, scope,
// client_id, sub, exp, aud, iss...).
struct Introspection {
  bool ok = false;  // answered, and active (when checked)
  std::string error;
  bool unreachable = false;
  bool active = false;
  boost::json::object claims;
};
// Asks the introspection endpoint about `token` (`hint`: token_type_hint, "" for none), the
// client authenticated as at the token endpoint.
boost::asio::awaitable<Introspection> introspect(boost::asio::io_context& io, const Endpoint& endpoint,
                                                 const ClientCredentials& client, const std::string& token,
                                                 const std::string& hint, bool check_active,
                                                 std::chrono::milliseconds timeout);
// Reads an introspection answer (exposed for tests): a 200 with a JSON object; with
// `check_active`, `active` must be true.
Introspection read_introspection_response(int status, const std::string& body, bool check_active);

// Reads a token endpoint's answer (exposed for tests): a 200 with a JSON object holding
// access_token; an error answer's `error` and `error_description` in `error`.
TokenResponse read_token_response(int status, const std::string& body);

}  // namespace portico::plugins::openid_connect
