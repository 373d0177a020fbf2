#include "plugins/openid-connect/token_client.hpp"

#include <boost/json.hpp>

#include "crypto/base64.hpp"
#include "http/params.hpp"
#include "net/http_fetch.hpp"
#include "plugins/jwt/mint.hpp"
#include "plugins/openid-connect/pkce.hpp"

namespace portico::plugins::openid_connect {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxAnswer = 1 << 20;

std::string string_member(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The answer of an endpoint that did not answer (a 502 rather than a 401 for the client).
template <typename Answer>
Answer unreachable(std::string_view endpoint, const std::string& error) {
  Answer failed;
  failed.unreachable = true;
  failed.error = "the " + std::string(endpoint) + " endpoint did not answer: " + error;
  return failed;
}

// POSTs `fields` as a form with the client's authentication (RFC 6749 2.3.1; RFC 7662 2.1
// authenticates the same way). Status 0 in the result: no answer.
asio::awaitable<net::FetchResult> post_form(asio::io_context& io, const Endpoint& endpoint, const ClientCredentials& client,
                                            std::vector<std::pair<std::string, std::string>> fields,
                                            std::chrono::milliseconds timeout) {
  net::OutgoingRequest request;
  request.method = "POST";
  request.url = endpoint.url;
  request.header_lines = "Content-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n";
  if (client.auth_method == "client_secret_basic") {
    // RFC 6749 2.3.1: both form-encoded before the Basic encoding.
    request.header_lines += "Authorization: Basic " +
                            crypto::base64_encode(http::percent_encode(client.id) + ":" + http::percent_encode(client.secret)) +
                            "\r\n";
  } else if (client.auth_method == "client_secret_jwt" || client.auth_method == "private_key_jwt") {
    fields.emplace_back("client_id", client.id);
    fields.emplace_back("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    fields.emplace_back("client_assertion", client_assertion(client, wall_seconds()));
  } else {
    fields.emplace_back("client_id", client.id);
    if (client.auth_method == "client_secret_post") fields.emplace_back("client_secret", client.secret);
  }
  request.body = form_encode(fields);
  // (A named variable: GCC 12 destroys a braced temporary argument of a coroutine call twice.)
  net::FetchOptions options{timeout, kMaxAnswer, true, endpoint.addresses};
  net::FetchResult result = co_await net::http_send(io, std::move(request), std::move(options));
  co_return result;
}

asio::awaitable<TokenResponse> call_token_endpoint(asio::io_context& io, const Endpoint& endpoint,
                                                   const ClientCredentials& client,
                                                   std::vector<std::pair<std::string, std::string>> fields,
                                                   std::chrono::milliseconds timeout) {
  net::FetchResult result = co_await post_form(io, endpoint, client, std::move(fields), timeout);
  if (result.status == 0) co_return unreachable<TokenResponse>("token", result.error);
  co_return read_token_response(result.status, result.body);
}

}  // namespace

std::string client_assertion(const ClientCredentials& client, double now) {
  std::optional<jwt::VerifyKey> secret_key;
  const jwt::VerifyKey* key = client.private_key.get();
  if (client.auth_method == "client_secret_jwt") {
    std::string error;
    secret_key = jwt::make_key(client.secret_alg, client.secret, false, error);
    key = secret_key ? &*secret_key : nullptr;
  }
  if (key == nullptr) return "";
  const auto issued = static_cast<std::int64_t>(now);
  const json::object claims{{"iss", client.id}, {"sub", client.id}, {"aud", client.audience},
                            {"jti", random_token()},  {"iat", issued}, {"exp", issued + 60}};
  return jwt::mint_token(*key, client.auth_method == "private_key_jwt" ? client.private_key_id : "", claims);
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    out += http::percent_encode(name);
    out += '=';
    out += http::percent_encode(value);
  }
  return out;
}

TokenResponse read_token_response(int status, const std::string& body) {
  TokenResponse r;
  boost::system::error_code ec;
  json::value parsed = json::parse(body, ec);
  const json::object* o = !ec && parsed.is_object() ? &parsed.get_object() : nullptr;
  if (status != 200) {
    r.error = "the token endpoint answered " + std::to_string(status);
    if (o != nullptr && !string_member(*o, "error").empty()) {
      r.error += ": " + string_member(*o, "error");
      if (const std::string d = string_member(*o, "error_description"); !d.empty()) r.error += " (" + d + ")";
    }
    return r;
  }
  if (o == nullptr) {
    r.error = "the token endpoint's answer is not a JSON object";
    return r;
  }
  if (!string_member(*o, "error").empty()) {  // GitHub answers errors with a 200
    r.error = "the token endpoint refused: " + string_member(*o, "error");
    return r;
  }
  r.access_token = string_member(*o, "access_token");
  r.id_token = string_member(*o, "id_token");
  r.refresh_token = string_member(*o, "refresh_token");
  if (const json::value* e = o->if_contains("expires_in"); e != nullptr && e->is_number()) r.expires_in = e->to_number<double>();
  if (r.access_token.empty()) {
    r.error = "the token endpoint's answer has no access_token";
    return r;
  }
  for (const std::string* token : {&r.access_token, &r.id_token, &r.refresh_token}) {
    for (unsigned char c : *token) {
      if (c <= 0x20 || c >= 0x7f) {  // it goes into header values (Authorization, the upstream's)
        r.error = "the token endpoint's answer holds a token with characters a token cannot have";
        return r;
      }
    }
  }
  r.ok = true;
  return r;
}

asio::awaitable<TokenResponse> redeem_code(asio::io_context& io, const Endpoint& token_endpoint,
                                           const ClientCredentials& client, const std::string& code,
                                           const std::string& redirect_uri, const std::string& code_verifier,
                                           std::chrono::milliseconds timeout) {
  std::vector<std::pair<std::string, std::string>> fields;
  fields.emplace_back("grant_type", "authorization_code");
  fields.emplace_back("code", code);
  fields.emplace_back("redirect_uri", redirect_uri);
  if (!code_verifier.empty()) fields.emplace_back("code_verifier", code_verifier);
  co_return co_await call_token_endpoint(io, token_endpoint, client, std::move(fields), timeout);
}

asio::awaitable<TokenResponse> refresh_tokens(asio::io_context& io, const Endpoint& token_endpoint,
                                              const ClientCredentials& client, const std::string& refresh_token,
                                              std::chrono::milliseconds timeout) {
  // (Built first: GCC 12 miscompiles a braced list of pairs as a coroutine call's argument.)
  std::vector<std::pair<std::string, std::string>> fields;
  fields.emplace_back("grant_type", "refresh_token");
  fields.emplace_back("refresh_token", refresh_token);
  co_return co_await call_token_endpoint(io, token_endpoint, client, std::move(fields), timeout);
}

asio::awaitable<UserInfo> fetch_userinfo(asio::io_context& io, const Endpoint& endpoint,
                                         const std::string& access_token, std::chrono::milliseconds timeout) {
  net::OutgoingRequest request;
  request.url = endpoint.url;
  request.header_lines = "Authorization: Bearer " + access_token + "\r\nAccept: application/json\r\n";
  net::FetchOptions options{timeout, kMaxAnswer, true, endpoint.addresses};
  net::FetchResult result = co_await net::http_send(io, std::move(request), std::move(options));
  if (result.status == 0) co_return unreachable<UserInfo>("user-info", result.error);
  UserInfo info;
  if (result.status != 200) {
    info.error = "the user-info endpoint answered " + std::to_string(result.status);
    co_return info;
  }
  boost::system::error_code ec;
  json::value parsed = json::parse(result.body, ec);
  if (ec || !parsed.is_object()) {
    info.error = "the user-info endpoint's answer is not a JSON object";
    co_return info;
  }
  info.claims = std::move(parsed.as_object());
  info.ok = true;
  co_return info;
}

Introspection read_introspection_response(int status, const std::string& body, bool check_active) {
  Introspection r;
  if (status != 200) {
    r.error = "the introspection endpoint answered " + std::to_string(status);
    return r;
  }
  boost::system::error_code ec;
  json::value parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) {
    r.error = "the introspection endpoint's answer is not a JSON object";
    return r;
  }
  r.claims = std::move(parsed.as_object());
  const json::value* active = r.claims.if_contains("active");
  r.active = active != nullptr && active->is_bool() && active->get_bool();
  if (check_active && !r.active) {
    r.error = "the token is not active";
    return r;
  }
  r.ok = true;
  return r;
}

asio::awaitable<Introspection> introspect(asio::io_context& io, const Endpoint& endpoint, const ClientCredentials& client,
                                          const std::string& token, const std::string& hint, bool check_active,
                                          std::chrono::milliseconds timeout) {
  std::vector<std::pair<std::string, std::string>> fields;
  fields.emplace_back("token", token);
  if (!hint.empty()) fields.emplace_back("token_type_hint", hint);
  net::FetchResult result = co_await post_form(io, endpoint, client, std::move(fields), timeout);
  if (result.status == 0) co_return unreachable<Introspection>("introspection", result.error);
  co_return read_introspection_response(result.status, result.body, check_active);
}

}  // namespace portico::plugins::openid_connect
