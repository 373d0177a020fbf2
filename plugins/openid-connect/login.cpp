// The openid-connect plugin's login (README.md): the redirect to the provider with PKCE, state
// and nonce sealed in a short-lived pre-login cookie; the callback, the code redeemed and the ID
// token verified; refresh of an expired access token with the session's refresh token.
#include <spdlog/spdlog.h>

#include "crypto/aead.hpp"
#include "http/params.hpp"
#include "plugins/openid-connect/id_token.hpp"
#include "plugins/openid-connect/instance.hpp"
#include "plugins/openid-connect/pkce.hpp"

namespace portico::plugins::openid_connect {

namespace json = boost::json;
namespace asio = boost::asio;

Access OpenIdConnect::start_login(RequestContext& ctx) const {
  auto state = provider_state(ctx);
  if (!state) return Access::replied;
  const ProviderMetadata& m = state->metadata;
  const bool pkce = config_.require_proof_key_for_code_exchange.value_or(m.supports_s256());
  PreLogin pre;
  pre.state = random_token();
  pre.nonce = openid_ ? random_token() : "";
  pre.created = now_seconds();
  const std::string_view target = ctx.request().target;
  pre.return_to = is_same_site_path(target) ? std::string(target) : "/";
  std::vector<std::pair<std::string, std::string>> query{
      {"response_type", "code"}, {"client_id", client_.id}, {"redirect_uri", config_.redirect_uri.front()}, {"state", pre.state}};
  std::string scope;
  for (const std::string& s : config_.scopes) scope += (scope.empty() ? "" : " ") + s;
  if (!scope.empty()) query.emplace_back("scope", scope);
  if (!pre.nonce.empty()) query.emplace_back("nonce", pre.nonce);
  if (pkce) {
    Pkce p = make_pkce();
    pre.code_verifier = p.verifier;
    query.emplace_back("code_challenge", p.challenge);
    query.emplace_back("code_challenge_method", "S256");
  }
  const std::string& endpoint = m.authorization_endpoint;
  const std::string location = endpoint + (endpoint.find('?') == std::string::npos ? "?" : "&") + form_encode(query);
  std::string headers = "Location: " + location + "\r\nCache-Control: no-store\r\n";
  headers += set_cookie_lines(config_.authorization_cookie_name, pre_logins_.seal(encode(pre)), cookie_attributes(ctx, false));
  ctx.reply(302, "Redirecting to the identity provider", ctx.store(headers));
  return Access::replied;
}

Access OpenIdConnect::refuse_callback(RequestContext& ctx, int status, std::string_view why) const {
  spdlog::info("openid-connect: login refused: {}", why);
  const std::string headers = clear_cookie_lines(config_.authorization_cookie_name, cookie_attributes(ctx, false), 1);
  ctx.reply(status, why, ctx.store(headers));
  return Access::replied;
}

asio::awaitable<Access> OpenIdConnect::callback(RequestContext& ctx) const {
  std::string cookie_storage, joined;
  const std::string_view cookies = cookie_list(ctx.request(), cookie_storage);
  int chunks = 0;
  auto sealed = read_cookie(cookies, config_.authorization_cookie_name, chunks, joined);
  auto opened = sealed ? pre_logins_.open(*sealed) : std::nullopt;
  auto pre = opened ? decode_pre_login(*opened) : std::nullopt;
  if (!pre) co_return refuse_callback(ctx, 401, "No login in progress: the authorization cookie is missing or not valid");
  const double now = now_seconds();
  if (now > pre->created + config_.authorization_rolling_timeout) {
    co_return refuse_callback(ctx, 401, "The login took too long: start again");
  }
  const std::string_view query = ctx.request().query;
  std::string state, code, error;
  http::percent_decode(http::query_value(query, "state"), state);
  http::percent_decode(http::query_value(query, "code"), code);
  http::percent_decode(http::query_value(query, "error"), error);
  if (!crypto::equal_constant_time(state, pre->state)) co_return refuse_callback(ctx, 401, "State mismatch");
  if (!error.empty()) {
    co_return refuse_callback(ctx, 401, has_control(error) ? "The identity provider refused the login"
                                                          : "The identity provider refused the login: " + error);
  }
  if (code.empty()) co_return refuse_callback(ctx, 400, "The callback has no authorization code");
  co_await wait_for_provider();
  auto provider = provider_state(ctx);
  if (!provider) co_return Access::replied;
  auto executor = co_await asio::this_coro::executor;
  asio::io_context& io = static_cast<asio::io_context&>(asio::query(executor, asio::execution::context));
  const Endpoint token_endpoint{provider->metadata.token_endpoint, provider->addresses_of(provider->metadata.token_endpoint)};
  const ClientCredentials client = client_for(*provider);
  TokenResponse tokens = co_await redeem_code(io, token_endpoint, client, code,
                                                      config_.redirect_uri.front(), pre->code_verifier, ms(config_.timeout));
  if (!tokens.ok) {
    spdlog::warn("openid-connect: code exchange failed: {}", tokens.error);
    co_return refuse_callback(ctx, tokens.unreachable ? 502 : 401,
                              tokens.unreachable ? "The identity provider could not be reached"
                                                 : "The identity provider refused the authorization code");
  }
  Session session;
  std::string why;
  if (openid_) {
    auto claims = co_await verified_id_token(provider, tokens.id_token, pre->nonce, why);
    if (!claims) co_return refuse_callback(ctx, 401, why);
    session.claims = std::move(*claims);
    session.subject = claim_text(session.claims.at("sub"));
  } else {
    const Endpoint userinfo{provider->metadata.userinfo_endpoint, provider->addresses_of(provider->metadata.userinfo_endpoint)};
    UserInfo info = co_await fetch_userinfo(io, userinfo, tokens.access_token, ms(config_.timeout));
    if (!info.ok) co_return refuse_callback(ctx, info.unreachable ? 502 : 401, "The user information could not be read");
    const json::value* subject = info.claims.if_contains(config_.userinfo_subject_claim);
    if (subject == nullptr || subject->is_null() || claim_text(*subject).empty()) {
      co_return refuse_callback(ctx, 401, "The user information names no user ('" + config_.userinfo_subject_claim + "')");
    }
    session.subject = claim_text(*subject);
    session.claims = std::move(info.claims);
  }
  session.access_token = tokens.access_token;
  session.access_expires = tokens.expires_in > 0 ? now + tokens.expires_in : 0;
  session.refresh_token = tokens.refresh_token;
  session.id_token = tokens.id_token;
  session.created = session.renewed = session.seen = now;
  co_return finish_login(ctx, session, pre->return_to);
}

asio::awaitable<std::optional<json::object>> OpenIdConnect::verified_id_token(const std::shared_ptr<const ProviderState>& provider,
                                                               const std::string& token, const std::string& nonce,
                                                               std::string& why) const {
  if (token.empty()) {
    why = "The identity provider sent no ID token";
    co_return std::nullopt;
  }
  if (!provider->keys) {
    why = "The identity provider publishes no keys (jwks_uri)";
    co_return std::nullopt;
  }
  IdTokenExpectations expected{provider->metadata.issuer, client_.id, config_.verify_nonce ? nonce : "",
                                   config_.leeway, now_seconds()};
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool waited = co_await wait_while([&] { return provider->keys->refreshing(); });
    auto keys = provider->keys->keys();
    std::string error;
    if (keys) {
      auto claims = verify_id_token(token, keys->keys, expected, error);
      if (claims) co_return claims;
      if (!is_unknown_kid(error) || attempt == 1) {
        spdlog::info("openid-connect: {}", error);
        why = "The ID token is not valid";
        co_return std::nullopt;
      }
    }
    if (!waited && !provider->keys->request_refresh()) break;
  }
  why = "The identity provider's keys could not be loaded";
  co_return std::nullopt;
}

asio::awaitable<Access> OpenIdConnect::refresh(RequestContext& ctx) const {
  std::string cookie_storage;
  const std::string_view cookies = cookie_list(ctx.request(), cookie_storage);
  int chunks = 0;
  auto opened = read_session(ctx, cookies, chunks);
  if (!opened) co_return no_credentials(ctx);
  auto session = std::make_optional(opened->session);  // a copy: the refreshed session is a new one
  auto ended = [&] {
    ctx.add_response_header_lines(ctx.store(clear_cookie_lines(config_.session_cookie_name, cookie_attributes(ctx, true), chunks)));
    return no_credentials(ctx);
  };
  if (!config_.refresh_tokens || session->refresh_token.empty()) co_return ended();
  auto provider = provider_->state();
  if (!provider) co_return ended();
  auto executor = co_await asio::this_coro::executor;
  asio::io_context& io = static_cast<asio::io_context&>(asio::query(executor, asio::execution::context));
  const Endpoint token_endpoint{provider->metadata.token_endpoint, provider->addresses_of(provider->metadata.token_endpoint)};
  bool leader = false;
  std::shared_ptr<RefreshFlight> flight = refreshes_->join(session->refresh_token, now_seconds(), leader);
  if (leader) {
    // Lands a failure if the call unwinds (an exception, the frame destroyed at shutdown):
    // waiters must not wait for a flight that never lands.
    RefreshFlights::Landing landing(flight);
    const ClientCredentials client = client_for(*provider);
    TokenResponse answer = co_await refresh_tokens(io, token_endpoint, client, session->refresh_token, ms(config_.timeout));
    landing.land(std::move(answer));
  } else {  // another request is refreshing this session's token: its answer serves this one too
    const bool waited = co_await wait_while([&] { return !flight->done.load(std::memory_order_acquire); });
    (void)waited;
    if (!flight->done.load(std::memory_order_acquire)) {
      ctx.reply(502, "The identity provider could not be reached");
      co_return Access::replied;
    }
  }
  const TokenResponse& tokens = flight->answer;
  if (!tokens.ok) {
    spdlog::info("openid-connect: refresh failed: {}", tokens.error);
    co_return ended();
  }
  const double now = now_seconds();
  session->access_token = tokens.access_token;
  session->access_expires = tokens.expires_in > 0 ? now + tokens.expires_in : 0;
  if (!tokens.refresh_token.empty()) session->refresh_token = tokens.refresh_token;
  if (!tokens.id_token.empty()) session->id_token = tokens.id_token;
  session->renewed = session->seen = now;
  if (!write_session(ctx, *session, chunks)) co_return Access::replied;
  if (!identify(ctx, identity_of(session->subject, session->claims, session->access_token), cookies)) co_return Access::replied;
  co_return Access::next;
}

}  // namespace portico::plugins::openid_connect
