// API calls with an access token (README.md, "Bearer tokens"): auth_methods `bearer` verifies a
// JWT access token with the provider's published keys (its issuer and times too);
// `introspection` asks the provider about any other token (RFC 7662). A good token's answer is
// remembered until the token expires (or cache_ttl / cache_ttl_max), so a client calling again
// costs a lookup: no signature check, no call to the provider.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "http/forms.hpp"
#include "http/params.hpp"
#include "plugins/openid-connect/id_token.hpp"
#include "plugins/openid-connect/instance.hpp"
#include "plugins/openid-connect/requirements.hpp"

namespace portico::plugins::openid_connect {

namespace json = boost::json;
namespace asio = boost::asio;

namespace {

constexpr std::string_view kTokenParam = "access_token";  // query and body (RFC 6750 2.2, 2.3)

bool allows(const OidcConfig& c, std::string_view place) {
  return std::find(c.bearer_token_param_type.begin(), c.bearer_token_param_type.end(), place) !=
         c.bearer_token_param_type.end();
}

// RFC 6750 2.1's b64token (letters, digits, -._~+/ then '=' padding), at most kMaxToken bytes:
// anything else is no token a provider issued, and must not reach a header or the provider.
constexpr std::size_t kMaxToken = 8192;
bool is_b64token(std::string_view t) {
  if (t.empty() || t.size() > kMaxToken) return false;
  std::size_t i = 0;
  for (; i < t.size(); ++i) {
    const unsigned char c = t[i];
    if (!std::isalnum(c) && c != '-' && c != '.' && c != '_' && c != '~' && c != '+' && c != '/') break;
  }
  if (i == 0) return false;
  while (i < t.size() && t[i] == '=') ++i;
  return i == t.size();
}

// A compact JWS has exactly two dots; anything else is an opaque token for introspection.
bool looks_like_jwt(std::string_view token) { return std::count(token.begin(), token.end(), '.') == 2; }

// The Bearer credential of an Authorization value (Kong's \s*[Bb]earer\s+(.+)), or "".
std::string_view bearer_credential(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  if (v.size() < 7 || (v[0] != 'B' && v[0] != 'b') || v.substr(1, 5) != "earer" || (v[6] != ' ' && v[6] != '\t')) return {};
  v.remove_prefix(6);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

double number_claim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  return v != nullptr && v->is_number() ? v->to_number<double>() : 0;
}

std::string string_claim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string media_type(std::string_view content_type) {
  std::string t(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return t;
}

// The access_token of a form, multipart or JSON body ("" when none); with `remove`, the body
// is rewritten without it.
std::string take_body_token(std::string& body, std::string_view content_type, bool remove) {
  const std::string type = media_type(content_type);
  std::string token;
  if (type == "application/x-www-form-urlencoded") {
    auto args = http::forms::parse_args(body);
    for (const auto& a : args) {
      if (a.key == kTokenParam) token = a.value;
    }
    if (!token.empty() && remove && http::forms::remove_arg(args, kTokenParam)) body = http::forms::encode_args(args);
  } else if (type == "multipart/form-data") {
    auto boundary = http::forms::multipart_boundary(content_type);
    auto parsed = boundary ? http::forms::parse_multipart(body, *boundary) : std::nullopt;
    if (!parsed) return "";
    for (const auto& p : parsed->parts) {
      if (p.name == kTokenParam) token = p.body;
    }
    if (!token.empty() && remove) {
      std::erase_if(parsed->parts, [](const http::forms::Part& p) { return p.name == kTokenParam; });
      body = http::forms::write_multipart(*parsed);
    }
  } else if (type == "application/json") {
    boost::system::error_code ec;
    json::value parsed = json::parse(body, ec);
    if (ec || !parsed.is_object()) return "";
    token = string_claim(parsed.get_object(), kTokenParam);
    if (!token.empty() && remove) {
      parsed.get_object().erase(kTokenParam);
      body = json::serialize(parsed);
    }
  }
  return token;
}

}  // namespace

FoundToken OpenIdConnect::body_token(RequestContext& ctx) const {
  if (!allows(config_, "body") || !ctx.request_body_read()) return {};
  const std::string token = take_body_token(ctx.request_body(), ctx.request().find("content-type"), false);
  if (token.empty()) return {};
  return {ctx.store(token), TokenPlace::body, {}};
}

FoundToken OpenIdConnect::find_bearer_token(RequestContext& ctx) const {
  const http::RequestHead& head = ctx.request();
  if (allows(config_, "header")) {
    // Kong's three: Authorization: Bearer, and the token alone in access-token / x-access-token.
    if (std::string_view t = bearer_credential(head.find("authorization")); !t.empty()) {
      return {t, TokenPlace::header, "Authorization"};
    }
    for (std::string_view name : {"access-token", "x-access-token"}) {
      if (std::string_view t = head.find(name); !t.empty()) return {t, TokenPlace::header, name};
    }
  }
  if (allows(config_, "query")) {
    if (std::string_view raw = http::query_value(head.query, kTokenParam); !raw.empty()) {
      std::string decoded;
      if (http::percent_decode(raw, decoded)) return {ctx.store(decoded), TokenPlace::query, {}};
    }
  }
  if (allows(config_, "cookie") && !config_.bearer_token_cookie_name.empty()) {
    for (const auto& h : head.headers) {
      if (!http::iequals(h.name, "cookie")) continue;
      if (std::string_view t = http::cookie_value(h.value, config_.bearer_token_cookie_name); !t.empty()) {
        return {t, TokenPlace::cookie, {}};
      }
    }
  }
  return body_token(ctx);  // when an earlier plugin already read the body
}

bool OpenIdConnect::may_carry_body_token(const RequestContext& ctx) const {
  if (!allows(config_, "body") || ctx.request_body_read()) return false;
  const http::RequestHead& head = ctx.request();
  if (head.method == "GET" || head.method == "HEAD") return false;
  const std::string type = media_type(head.find("content-type"));
  return type == "application/x-www-form-urlencoded" || type == "multipart/form-data" || type == "application/json";
}

std::shared_ptr<const VerifiedBearer> OpenIdConnect::remembered_bearer(std::string_view token,
                                                                       const ProviderState* provider) const {
  auto hit = bearers_.find(token);
  if (!hit) return nullptr;
  if (hit->key_generation == 0 || hit->key_generation == VerifiedBearer::kMintedHere) return hit;  // introspected, or ours
  // A JWT: trusted under the keys that verified it only (a key withdrawn by the provider
  // stops its tokens at the next fetch).
  auto keys = provider != nullptr && provider->keys ? provider->keys->keys() : nullptr;
  return keys && keys->generation == hit->key_generation ? hit : nullptr;
}

std::shared_ptr<const VerifiedBearer> OpenIdConnect::verified_jwt(std::string_view token, const ProviderState& provider,
                                                                  std::string& error, bool& unknown_kid) const {
  unknown_kid = false;
  bool ours = false;
  auto minted = minted_here(token, ours, error);
  if (ours) return minted;  // good, or refused with `error` (expired...): the provider is not asked
  auto keys = provider.keys ? provider.keys->keys() : nullptr;
  if (!keys) {
    error = "access token: the provider's keys are not loaded";
    unknown_kid = provider.keys != nullptr;
    return nullptr;
  }
  auto claims = verify_signed_token(token, keys->keys, "access token", error);
  if (!claims) {
    unknown_kid = is_unknown_kid(error);
    return nullptr;
  }
  AccessTokenExpectations expected;
  expected.issuers = issuers_allowed_.empty() ? std::vector<std::string>{provider.metadata.issuer} : issuers_allowed_;
  expected.leeway = config_.leeway;
  expected.now = now_seconds();
  if (std::string problem = access_token_claims_problem(*claims, expected); !problem.empty()) {
    error = "access token: " + problem;
    return nullptr;
  }
  const double expires_at = number_claim(*claims, "exp") + config_.leeway;
  return make_verified(std::move(*claims), token, expires_at, keys->generation);
}

std::shared_ptr<const VerifiedBearer> OpenIdConnect::minted_here(std::string_view token, bool& ours, std::string& error) const {
  ours = false;
  if (!internal_key_) return nullptr;
  std::string not_ours;
  auto claims = verify_signed_token(token, internal_keys_, "access token", not_ours);
  if (!claims) return nullptr;  // not signed by our key: the provider's keys decide
  ours = true;
  const AccessTokenExpectations expected{{config_.issue_jwt.issuer}, config_.leeway, now_seconds()};
  std::string problem = access_token_claims_problem(*claims, expected);
  // Minted for this entry's audience: a token for `orders` does not open `billing` (same key).
  if (problem.empty() && !config_.issue_jwt.audience.empty() && !meets(claims->if_contains("aud"), config_.issue_jwt.audience)) {
    problem = "issued for another audience";
  }
  if (!problem.empty()) {
    error = "access token (issue_jwt's): " + problem;
    return nullptr;
  }
  const double expires_at = number_claim(*claims, "exp") + config_.leeway;
  return make_verified(std::move(*claims), token, expires_at, VerifiedBearer::kMintedHere);
}

std::shared_ptr<VerifiedBearer> OpenIdConnect::make_verified(json::object claims, std::string_view token, double expires_at,
                                                             std::uint64_t key_generation) const {
  auto verified = std::make_shared<VerifiedBearer>();
  std::string subject = string_claim(claims, "sub");
  if (subject.empty()) subject = string_claim(claims, "client_id");  // a client's own token
  verified->identity = identity_of(subject, claims, token);
  verified->claims = std::move(claims);
  verified->expires_at = expires_at;
  verified->key_generation = key_generation;
  return verified;
}

Access OpenIdConnect::bearer(RequestContext& ctx, const FoundToken& found) const {
  if (!is_b64token(found.token)) return refuse_bearer(ctx, "access token: not a token (RFC 6750 b64token, 8 KiB at most)");
  auto provider = provider_->state();
  if (auto hit = remembered_bearer(found.token, provider.get())) {
    // A JWT's times are checked again: exp bounds the entry, nbf is past once it verified.
    return admit_bearer(ctx, *hit, found);
  }
  if (!provider) return suspend(ctx, Step::bearer);  // the first discovery is still running
  if (looks_like_jwt(found.token) && methods_.bearer && !config_.introspect_jwt_tokens) {
    std::string error;
    bool unknown_kid = false;
    auto verified = verified_jwt(found.token, *provider, error, unknown_kid);
    if (verified) {
      bearers_.remember(found.token, verified);
      return admit_bearer(ctx, *verified, found);
    }
    if (!unknown_kid && !methods_.introspection) return refuse_bearer(ctx, error);
  }
  return suspend(ctx, Step::bearer);
}

asio::awaitable<Access> OpenIdConnect::bearer_async(RequestContext& ctx) const {
  FoundToken found = find_bearer_token(ctx);
  if (found.token.empty()) {  // the body may hold it
    const bool read = co_await ctx.read_request_body();
    if (!read) {
      ctx.reply(ctx.body_error_status(), ctx.body_error());
      co_return Access::replied;
    }
    found = body_token(ctx);
    if (found.token.empty()) co_return no_credentials(ctx);
  }
  if (!is_b64token(found.token)) co_return refuse_bearer(ctx, "access token: not a token (RFC 6750 b64token, 8 KiB at most)");
  co_await wait_for_provider();
  auto provider = provider_state(ctx);
  if (!provider) co_return Access::replied;
  if (auto hit = remembered_bearer(found.token, provider.get())) co_return admit_bearer(ctx, *hit, found);
  std::string error = "access token: not a JWT, and introspection is off";
  if (looks_like_jwt(found.token) && methods_.bearer && !config_.introspect_jwt_tokens) {
    std::shared_ptr<const VerifiedBearer> verified;
    bool unknown_kid = false;
    for (int attempt = 0; attempt < 2 && !verified; ++attempt) {
      const bool waited = co_await wait_while([&] { return provider->keys && provider->keys->refreshing(); });
      verified = verified_jwt(found.token, *provider, error, unknown_kid);
      if (verified || !unknown_kid) break;
      // An unknown kid: the provider may have rotated its keys; fetch them once more.
      if (!waited && !provider->keys->request_refresh()) break;
    }
    if (verified) {
      bearers_.remember(found.token, verified);
      co_return admit_bearer(ctx, *verified, found);
    }
  }
  if (!methods_.introspection) co_return refuse_bearer(ctx, error);
  const std::string& endpoint_url = provider->metadata.introspection_endpoint;
  if (endpoint_url.empty()) co_return refuse_bearer(ctx, "access token: the provider has no introspection endpoint");
  auto executor = co_await asio::this_coro::executor;
  asio::io_context& io = static_cast<asio::io_context&>(asio::query(executor, asio::execution::context));
  const Endpoint endpoint{endpoint_url, provider->addresses_of(endpoint_url)};
  ClientCredentials client = client_for(*provider);
  if (!config_.introspection_endpoint_auth_method.empty()) client.auth_method = config_.introspection_endpoint_auth_method;
  const std::string token(found.token);
  Introspection answer = co_await introspect(io, endpoint, client, token, config_.introspection_hint,
                                             config_.introspection_check_active, ms(config_.timeout));
  if (answer.unreachable) {
    spdlog::warn("openid-connect: {}", answer.error);
    ctx.reply(502, "The identity provider could not be reached");
    co_return Access::replied;
  }
  if (!answer.ok) co_return refuse_bearer(ctx, "access token: " + answer.error);
  const double now = now_seconds();
  const double exp = number_claim(answer.claims, "exp");
  if (exp > 0 && now > exp + config_.leeway) co_return refuse_bearer(ctx, "access token: expired");
  double keep = exp > 0 ? exp + config_.leeway - now : config_.cache_ttl;
  if (config_.cache_ttl_max > 0) keep = std::min(keep, config_.cache_ttl_max);
  auto verified = make_verified(std::move(answer.claims), found.token, now + keep, 0);
  if (config_.cache_introspection && keep > 0) bearers_.remember(found.token, verified);
  co_return admit_bearer(ctx, *verified, found);
}

Access OpenIdConnect::admit_bearer(RequestContext& ctx, const VerifiedBearer& verified, const FoundToken& found) const {
  if (config_.hide_credentials) hide_token(ctx, found);
  std::string cookie_storage;
  const std::string_view cookies = cookie_list(ctx.request(), cookie_storage);
  if (!identify(ctx, verified.identity, cookies)) return Access::replied;
  return Access::next;
}

void OpenIdConnect::hide_token(RequestContext& ctx, const FoundToken& found) const {
  switch (found.place) {
    case TokenPlace::header:
      ctx.upstream_headers().remove(found.header);
      break;
    case TokenPlace::query:
      ctx.set_upstream_query(http::query_without(ctx.query_replaced() ? ctx.upstream_query() : ctx.request().query, kTokenParam));
      break;
    case TokenPlace::body:
      take_body_token(ctx.request_body(), ctx.request().find("content-type"), true);
      break;
    case TokenPlace::cookie:  // identify() leaves it out of the upstream's Cookie (is_own_cookie)
    case TokenPlace::none:
      break;
  }
}

Access OpenIdConnect::refuse_bearer(RequestContext& ctx, std::string_view why) const {
  spdlog::info("openid-connect: {}", why);
  ctx.reply(401, config_.unauthorized_error_message,
            ctx.concat({"WWW-Authenticate: Bearer realm=\"", ctx.request().host, "\", error=\"invalid_token\"\r\n"}));
  return plugin::finish_authentication(ctx, anonymous_, plugin::Verdict::failed);
}

}  // namespace portico::plugins::openid_connect
