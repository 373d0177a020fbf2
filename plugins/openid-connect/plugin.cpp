// The openid-connect plugin (README.md): login at the gateway with the authorization code flow
// (PKCE, state and nonce sealed in a short-lived pre-login cookie), an encrypted session cookie
// after it, refresh with the refresh token, logout; the verified identity to the upstream.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <limits>

#include "crypto/aead.hpp"
#include "crypto/base64.hpp"
#include "crypto/sealed_box.hpp"
#include "http/params.hpp"
#include "plugin/auth.hpp"
#include "plugin/expiring_cache.hpp"
#include "plugin/registry.hpp"
#include "plugin/request_context.hpp"
#include "plugins/openid-connect/config.hpp"
#include "plugins/openid-connect/cookies.hpp"
#include "plugins/openid-connect/id_token.hpp"
#include "plugins/openid-connect/pkce.hpp"
#include "plugins/openid-connect/provider.hpp"
#include "plugins/openid-connect/session.hpp"
#include "plugins/openid-connect/token_client.hpp"
#include "proxy/shared_state.hpp"

namespace portico::plugin {
namespace {

namespace oc = plugins::openid_connect;
namespace json = boost::json;
namespace asio = boost::asio;

constexpr double kTouchEvery = 60;  // seconds: a used session's cookie is rewritten at most this often
constexpr std::size_t kOpenedSessions = 10000;  // session cookies remembered opened (all workers)
constexpr double kKeepOpenedAtMost = 3600;       // seconds, when no timeout bounds a session sooner

// A session cookie opened once: the same cookie again costs a lookup, not base64, AES-GCM and
// JSON (the timeouts are still checked on every request).
struct OpenedSession {
  oc::Session session;
  double expires_at = 0;
};

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::chrono::milliseconds ms(double milliseconds) { return std::chrono::milliseconds(static_cast<long long>(milliseconds)); }

// Every Cookie header's value, joined as one list (HTTP/2 sends crumbs; clients may send several).
std::string cookie_list(const http::RequestHead& head) {
  std::string out;
  for (const auto& h : head.headers) {
    if (!http::iequals(h.name, "cookie")) continue;
    if (!out.empty()) out += "; ";
    out += h.value;
  }
  return out;
}

// The path of an absolute URL ("/callback" of "https://app.example.com/callback?x=1").
std::string url_path(std::string_view url) {
  const std::size_t scheme = url.find("://");
  const std::size_t start = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  if (start == std::string_view::npos) return "/";
  return std::string(url.substr(start, url.find_first_of("?#", start) - start));
}

std::string claim_text(const json::value& v) { return v.is_string() ? std::string(v.get_string()) : json::serialize(v); }

bool has_control(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

class OpenIdConnect final : public Instance {
 public:
  OpenIdConnect(const oc::OidcConfig& config, BuildContext& build)
      : config_(config),
        redirect_path_(config.redirect_uri.empty() ? std::string() : url_path(config.redirect_uri.front())),
        sessions_(secrets(config), "openid-connect session"),
        pre_logins_(secrets(config), "openid-connect authorization") {
    anonymous_ = config.auth.anonymous.empty() ? nullptr : find_consumer(build.config, config.auth.anonymous);
    for (const auto& c : build.config.consumers) {
      for (const std::string& by : config.consumer_by) {
        const std::string& key = by == "id" ? c.id : by == "username" ? c.username : c.custom_id;
        if (!key.empty()) consumers_.emplace(key, &c);
      }
    }
    client_.id = config.client_id.empty() ? "" : config.client_id.front();
    client_.secret = config.client_secret.empty() ? "" : config.client_secret.front();
    client_.auth_method = config.client_auth.empty() ? "client_secret_basic" : config.client_auth.front();
    openid_ = std::find(config.scopes.begin(), config.scopes.end(), "openid") != config.scopes.end();
    oc::Provider::Options o;
    o.issuer = config.issuer;
    o.discover = !config.using_pseudo_issuer;
    o.configured.authorization_endpoint = config.authorization_endpoint;
    o.configured.token_endpoint = config.token_endpoint;
    o.configured.userinfo_endpoint = config.userinfo_endpoint;
    o.configured.introspection_endpoint = config.introspection_endpoint;
    o.configured.end_session_endpoint = config.end_session_endpoint;
    o.configured.jwks_uri = config.jwks_endpoint;
    o.timeout = ms(config.timeout);
    const std::string key = "openid-connect|" + config.issuer + "|" + (o.discover ? "discover" : "pseudo") + "|" +
                            config.authorization_endpoint + "|" + config.token_endpoint + "|" + config.userinfo_endpoint +
                            "|" + config.end_session_endpoint + "|" + config.jwks_endpoint + "|" +
                            config.introspection_endpoint + "|" + std::to_string(o.timeout.count());
    provider_ = build.shared.plugin_state<oc::Provider>(key, [&] {
      auto p = std::make_shared<oc::Provider>(build.control, o);
      p->start();
      return p;
    });
  }

  Access access(RequestContext& ctx) const override { return decide(ctx, true); }

  asio::awaitable<Access> access_async(RequestContext& ctx) const override {
    for (;;) {
      const Step step = ctx.state<StepState>(*this).step;
      if (step == Step::provider) {  // the first discovery is still running: wait for it, then decide again
        co_await wait_for_provider();
        const Access decided = decide(ctx, false);
        if (decided != Access::suspend) co_return decided;
        continue;
      }
      if (step == Step::callback) {
        Access callback_result = co_await callback(ctx);
        co_return callback_result;
      }
      Access refreshed = co_await refresh(ctx);
      co_return refreshed;
    }
  }

 private:
  // The access phase's decision; `may_wait`: whether it may ask to wait for the provider's
  // first discovery (once per request).
  Access decide(RequestContext& ctx, bool may_wait) const {
    scrub_identity_headers(ctx);
    if (!config_.auth.run_on_preflight && ctx.request().method == "OPTIONS") return Access::next;
    if (anonymous_ != nullptr && ctx.has_credential()) return Access::next;
    const std::string cookies = cookie_list(ctx.request());
    if (is_logout(ctx)) return logout(ctx, cookies);
    if (is_callback(ctx)) return suspend(ctx, Step::callback);
    if (oc::has_method(config_, "session")) {
      int chunks = 0;
      if (auto opened = read_session(ctx, cookies, chunks)) {
        const oc::Session& session = opened->session;
        const double now = now_seconds();
        if (needs_refresh(session, now)) return suspend(ctx, Step::refresh);
        if (!identify(ctx, session)) return Access::replied;
        // Keeps the idling timeout from ending a used session (without one, nothing to write).
        if (config_.session_idling_timeout > 0 && now - session.seen >= kTouchEvery) {
          oc::Session touched = session;
          touched.seen = now;
          write_session(ctx, touched, chunks);
        }
        return Access::next;
      }
    }
    if (may_wait && !provider_->state() && oc::has_method(config_, "authorization_code")) {
      return suspend(ctx, Step::provider);
    }
    return no_credentials(ctx);
  }

  // Waits (bounded by the timeout) until the provider's first discovery has landed.
  asio::awaitable<void> wait_for_provider() const {
    bool waited = co_await wait_while([this] { return !provider_->state(); });
    (void)waited;
  }

  // Polls `busy` every 10 ms until it is false or the timeout passes; true if it waited.
  template <typename Busy>
  asio::awaitable<bool> wait_while(Busy busy) const {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer poll(executor);
    const auto give_up = std::chrono::steady_clock::now() + ms(config_.timeout);
    bool waited = false;
    while (busy() && std::chrono::steady_clock::now() < give_up) {
      waited = true;
      poll.expires_after(std::chrono::milliseconds(10));
      co_await poll.async_wait(asio::use_awaitable);
    }
    co_return waited;
  }

  enum class Step : std::uint8_t { none, provider, callback, refresh };
  struct StepState {
    Step step;
  };

  static std::vector<std::string> secrets(const oc::OidcConfig& c) {
    if (!c.session_secret.empty()) {
      std::vector<std::string> all{c.session_secret};
      all.insert(all.end(), c.session_secret_fallbacks.begin(), c.session_secret_fallbacks.end());
      return all;
    }
    // Kong's behaviour without session_secret: a random secret (here per process and entry;
    // sessions then end with a restart, and nodes do not share them: set session_secret).
    return {crypto::random_bytes(32)};
  }

  Access suspend(RequestContext& ctx, Step step) const {
    ctx.state<StepState>(*this).step = step;
    return Access::suspend;
  }

  // Client copies of the identity headers never reach the upstream.
  void scrub_identity_headers(RequestContext& ctx) const {
    if (!config_.upstream_user_id_header.empty()) ctx.upstream_headers().remove(config_.upstream_user_id_header);
    for (const std::string& name : config_.upstream_headers_names) ctx.upstream_headers().remove(name);
  }

  oc::CookieAttributes cookie_attributes(const RequestContext& ctx, bool session) const {
    oc::CookieAttributes a;
    a.path = session ? config_.session_cookie_path : "/";
    a.domain = session ? config_.session_cookie_domain : "";
    // The pre-login cookie must come back on the provider's top-level redirect: Lax.
    a.same_site = session ? config_.session_cookie_same_site : "Lax";
    a.secure = config_.session_cookie_secure.value_or(ctx.scheme() == "https");
    a.http_only = session ? config_.session_cookie_http_only : true;
    return a;
  }

  bool is_logout(const RequestContext& ctx) const {
    const std::string_view path = ctx.request().path;
    const std::string& suffix = config_.logout_uri_suffix;
    if (suffix.empty() || path.size() < suffix.size() || path.substr(path.size() - suffix.size()) != suffix) return false;
    return std::find(config_.logout_methods.begin(), config_.logout_methods.end(), ctx.request().method) !=
           config_.logout_methods.end();
  }

  bool is_callback(const RequestContext& ctx) const {
    return oc::has_method(config_, "authorization_code") && ctx.request().path == redirect_path_ &&
           !http::query_value(ctx.request().query, "state").empty();
  }

  // The request's session, or null (none, not valid, or over a timeout: then its cookie is
  // cleared on the response).
  std::shared_ptr<const OpenedSession> read_session(RequestContext& ctx, const std::string& cookies, int& chunks) const {
    auto sealed = oc::read_cookie(cookies, config_.session_cookie_name, chunks);
    if (!sealed) return nullptr;
    const double now = now_seconds();
    std::shared_ptr<const OpenedSession> opened = opened_.find(*sealed);
    if (!opened) {
      auto plain = sessions_.open(*sealed, oc::kCookieChunk * oc::kMaxCookieChunks);
      auto session = plain ? oc::decode_session(*plain) : std::nullopt;
      if (session) {
        auto entry = std::make_shared<OpenedSession>();
        entry->expires_at = std::min(deadline_of(*session), now + kKeepOpenedAtMost);
        entry->session = std::move(*session);
        opened = entry;
        opened_.remember(*sealed, opened);
      }
    }
    std::string problem = opened ? oc::session_expiry_problem(opened->session, timeouts(), now)
                                 : std::string("the session cookie is not valid");
    if (!problem.empty()) {
      spdlog::debug("openid-connect: {}", problem);
      ctx.add_response_header_lines(ctx.store(oc::clear_cookie_lines(config_.session_cookie_name, cookie_attributes(ctx, true), chunks)));
      return nullptr;
    }
    return opened;
  }

  // When the first of the session's timeouts ends it (far away when none is set).
  double deadline_of(const oc::Session& s) const {
    double deadline = std::numeric_limits<double>::max();
    if (config_.session_absolute_timeout > 0) deadline = std::min(deadline, s.created + config_.session_absolute_timeout);
    if (config_.session_rolling_timeout > 0) deadline = std::min(deadline, s.renewed + config_.session_rolling_timeout);
    if (config_.session_idling_timeout > 0) deadline = std::min(deadline, s.seen + config_.session_idling_timeout);
    return deadline;
  }

  oc::SessionTimeouts timeouts() const {
    return {config_.session_rolling_timeout, config_.session_absolute_timeout, config_.session_idling_timeout};
  }

  bool needs_refresh(const oc::Session& s, double now) const {
    return s.access_expires > 0 && now >= s.access_expires - config_.leeway;
  }

  // Seals the session into its cookie(s) on the response.
  bool write_session(RequestContext& ctx, const oc::Session& s, int previous_chunks) const {
    const std::string lines = oc::set_cookie_lines(config_.session_cookie_name, sessions_.seal(oc::encode(s)),
                                                   cookie_attributes(ctx, true), previous_chunks);
    if (lines.empty()) {
      ctx.reply(500, "the session is too large for its cookies");
      return false;
    }
    ctx.add_response_header_lines(ctx.store(lines));
    return true;
  }

  // The verified identity to the upstream (and to the plugins after this one).
  bool identify(RequestContext& ctx, const oc::Session& s) const {
    if (!config_.upstream_user_id_header.empty()) {
      ctx.upstream_headers().set(config_.upstream_user_id_header, ctx.store(s.subject));
    }
    for (std::size_t i = 0; i < config_.upstream_headers_claims.size(); ++i) {
      const json::value* v = s.claims.if_contains(config_.upstream_headers_claims[i]);
      if (v == nullptr || v->is_null()) continue;
      const std::string text = claim_text(*v);
      if (has_control(text)) continue;  // would split the upstream head: left out
      ctx.upstream_headers().set(config_.upstream_headers_names[i], ctx.store(text));
    }
    if (!s.access_token.empty() && !config_.upstream_access_token_header.empty()) {
      if (config_.upstream_access_token_header == "authorization:bearer") {
        ctx.upstream_headers().set("Authorization", ctx.concat({"Bearer ", s.access_token}));
      } else {
        ctx.upstream_headers().set(config_.upstream_access_token_header, ctx.store(s.access_token));
      }
    }
    strip_own_cookies(ctx);
    const std::string_view subject = ctx.store(s.subject);
    if (config_.consumer_claim.empty()) {
      ctx.authenticate_without_consumer(subject);
      return true;
    }
    const json::value* claim = s.claims.if_contains(config_.consumer_claim.front());
    const auto found = claim != nullptr ? consumers_.find(claim_text(*claim)) : consumers_.end();
    if (found != consumers_.end()) {
      ctx.authenticate(*found->second, subject);
      return true;
    }
    if (config_.consumer_optional) {
      ctx.authenticate_without_consumer(subject);
      return true;
    }
    ctx.reply(403, "Forbidden");
    return false;
  }

  // The session's cookies (and a pre-login cookie) are the gateway's: the upstream gets the
  // client's other cookies only, as with Kong.
  void strip_own_cookies(RequestContext& ctx) const {
    const std::string cookies = cookie_list(ctx.request());
    if (cookies.empty()) return;
    std::string kept;
    std::string_view rest = cookies;
    while (!rest.empty()) {
      const std::size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
      const std::string_view name = pair.substr(0, pair.find('='));
      if (pair.empty() || is_own_cookie(name)) continue;
      if (!kept.empty()) kept += "; ";
      kept += pair;
    }
    if (kept.empty()) ctx.upstream_headers().remove("Cookie");
    else ctx.upstream_headers().set("Cookie", ctx.store(kept));
  }

  bool is_own_cookie(std::string_view name) const {
    if (name == config_.authorization_cookie_name) return true;
    const std::string& session = config_.session_cookie_name;
    if (name.substr(0, session.size()) != session) return false;
    const std::string_view suffix = name.substr(session.size());
    return suffix.empty() || (suffix.size() == 1 && suffix[0] >= '2' && suffix[0] <= '9');
  }

  // No session: a browser's GET starts the login; anything else is refused (or, with
  // `anonymous`, goes on as the anonymous consumer: no login is forced then).
  Access no_credentials(RequestContext& ctx) const {
    const std::string_view method = ctx.request().method;
    if (anonymous_ == nullptr && oc::has_method(config_, "authorization_code") && (method == "GET" || method == "HEAD")) {
      return start_login(ctx);
    }
    ctx.reply(401, "Unauthorized", "WWW-Authenticate: Bearer\r\n");
    return finish_authentication(ctx, anonymous_, Verdict::failed);
  }

  std::shared_ptr<const oc::ProviderState> provider_state(RequestContext& ctx) const {
    auto state = provider_->state();
    if (!state) {
      spdlog::warn("openid-connect {}: provider not available: {}", config_.issuer, provider_->last_error());
      ctx.reply(503, "The identity provider is not available");
    }
    return state;
  }

  Access start_login(RequestContext& ctx) const {
    auto state = provider_state(ctx);
    if (!state) return Access::replied;
    const oc::ProviderMetadata& m = state->metadata;
    const bool pkce = config_.require_proof_key_for_code_exchange.value_or(m.supports_s256());
    oc::PreLogin pre;
    pre.state = oc::random_token();
    pre.nonce = openid_ ? oc::random_token() : "";
    pre.created = now_seconds();
    const std::string_view target = ctx.request().target;
    pre.return_to = oc::is_same_site_path(target) ? std::string(target) : "/";
    std::vector<std::pair<std::string, std::string>> query{
        {"response_type", "code"}, {"client_id", client_.id}, {"redirect_uri", config_.redirect_uri.front()}, {"state", pre.state}};
    std::string scope;
    for (const std::string& s : config_.scopes) scope += (scope.empty() ? "" : " ") + s;
    if (!scope.empty()) query.emplace_back("scope", scope);
    if (!pre.nonce.empty()) query.emplace_back("nonce", pre.nonce);
    if (pkce) {
      oc::Pkce p = oc::make_pkce();
      pre.code_verifier = p.verifier;
      query.emplace_back("code_challenge", p.challenge);
      query.emplace_back("code_challenge_method", "S256");
    }
    const std::string& endpoint = m.authorization_endpoint;
    const std::string location = endpoint + (endpoint.find('?') == std::string::npos ? "?" : "&") + oc::form_encode(query);
    std::string headers = "Location: " + location + "\r\nCache-Control: no-store\r\n";
    headers += oc::set_cookie_lines(config_.authorization_cookie_name, pre_logins_.seal(oc::encode(pre)), cookie_attributes(ctx, false));
    ctx.reply(302, "Redirecting to the identity provider", ctx.store(headers));
    return Access::replied;
  }

  // Refuses a callback: the pre-login cookie is cleared too (a failed login starts afresh).
  Access refuse_callback(RequestContext& ctx, int status, std::string_view why) const {
    spdlog::info("openid-connect: login refused: {}", why);
    const std::string headers = oc::clear_cookie_lines(config_.authorization_cookie_name, cookie_attributes(ctx, false), 1);
    ctx.reply(status, why, ctx.store(headers));
    return Access::replied;
  }

  asio::awaitable<Access> callback(RequestContext& ctx) const {
    const std::string cookies = cookie_list(ctx.request());
    int chunks = 0;
    auto sealed = oc::read_cookie(cookies, config_.authorization_cookie_name, chunks);
    auto opened = sealed ? pre_logins_.open(*sealed) : std::nullopt;
    auto pre = opened ? oc::decode_pre_login(*opened) : std::nullopt;
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
    const oc::Endpoint token_endpoint{provider->metadata.token_endpoint, provider->addresses_of(provider->metadata.token_endpoint)};
    oc::TokenResponse tokens = co_await oc::redeem_code(io, token_endpoint, client_, code,
                                                        config_.redirect_uri.front(), pre->code_verifier, ms(config_.timeout));
    if (!tokens.ok) {
      spdlog::warn("openid-connect: code exchange failed: {}", tokens.error);
      co_return refuse_callback(ctx, tokens.unreachable ? 502 : 401,
                                tokens.unreachable ? "The identity provider could not be reached"
                                                   : "The identity provider refused the authorization code");
    }
    oc::Session session;
    std::string why;
    if (openid_) {
      auto claims = co_await verified_id_token(provider, tokens.id_token, pre->nonce, why);
      if (!claims) co_return refuse_callback(ctx, 401, why);
      session.claims = std::move(*claims);
      session.subject = claim_text(session.claims.at("sub"));
    } else {
      const oc::Endpoint userinfo{provider->metadata.userinfo_endpoint, provider->addresses_of(provider->metadata.userinfo_endpoint)};
      oc::UserInfo info = co_await oc::fetch_userinfo(io, userinfo, tokens.access_token, ms(config_.timeout));
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
    if (!write_session(ctx, session, 0)) co_return Access::replied;
    ctx.add_response_header_lines(
        ctx.store(oc::clear_cookie_lines(config_.authorization_cookie_name, cookie_attributes(ctx, false), 1)));
    const std::string& location = config_.login_action == "redirect" ? config_.login_redirect_uri.front() : pre->return_to;
    ctx.reply(302, "Logged in", ctx.concat({"Location: ", location, "\r\nCache-Control: no-store\r\n"}));
    co_return Access::replied;
  }

  // The ID token's claims once verified with the provider's keys (waiting for them when they
  // are being fetched, or fetching them again once for an unknown kid).
  asio::awaitable<std::optional<json::object>> verified_id_token(const std::shared_ptr<const oc::ProviderState>& provider,
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
    oc::IdTokenExpectations expected{provider->metadata.issuer, client_.id, config_.verify_nonce ? nonce : "",
                                     config_.leeway, now_seconds()};
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool waited = co_await wait_while([&] { return provider->keys->refreshing(); });
      auto keys = provider->keys->keys();
      std::string error;
      if (keys) {
        auto claims = oc::verify_id_token(token, keys->keys, expected, error);
        if (claims) co_return claims;
        if (error != "ID token: no provider key for its kid" || attempt == 1) {
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

  asio::awaitable<Access> refresh(RequestContext& ctx) const {
    const std::string cookies = cookie_list(ctx.request());
    int chunks = 0;
    auto opened = read_session(ctx, cookies, chunks);
    if (!opened) co_return no_credentials(ctx);
    auto session = std::make_optional(opened->session);  // a copy: the refreshed session is a new one
    auto ended = [&] {
      ctx.add_response_header_lines(ctx.store(oc::clear_cookie_lines(config_.session_cookie_name, cookie_attributes(ctx, true), chunks)));
      return no_credentials(ctx);
    };
    if (!config_.refresh_tokens || session->refresh_token.empty()) co_return ended();
    auto provider = provider_->state();
    if (!provider) co_return ended();
    auto executor = co_await asio::this_coro::executor;
    asio::io_context& io = static_cast<asio::io_context&>(asio::query(executor, asio::execution::context));
    const oc::Endpoint token_endpoint{provider->metadata.token_endpoint, provider->addresses_of(provider->metadata.token_endpoint)};
    oc::TokenResponse tokens =
        co_await oc::refresh_tokens(io, token_endpoint, client_, session->refresh_token, ms(config_.timeout));
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
    if (!identify(ctx, *session)) co_return Access::replied;
    co_return Access::next;
  }

  // Logout: the session cookie goes; then the provider's logout when it has one, else the
  // configured page, else 204. Refused when a browser says the request came from another site.
  Access logout(RequestContext& ctx, const std::string& cookies) const {
    const http::RequestHead& head = ctx.request();
    const std::string_view fetch_site = head.find("sec-fetch-site");
    const std::string_view origin = head.find("origin");
    const std::string own_origin = std::string(ctx.scheme()) + "://" + std::string(head.host);
    if ((!fetch_site.empty() && fetch_site != "same-origin" && fetch_site != "none") ||
        (head.has("origin") && origin != own_origin)) {
      ctx.reply(403, "Cross-site logout refused");
      return Access::replied;
    }
    int chunks = 0;
    std::string id_token;
    if (auto sealed = oc::read_cookie(cookies, config_.session_cookie_name, chunks)) {
      if (auto opened = sessions_.open(*sealed, oc::kCookieChunk * oc::kMaxCookieChunks)) {
        if (auto s = oc::decode_session(*opened)) id_token = s->id_token;
      }
    }
    std::string headers = oc::clear_cookie_lines(config_.session_cookie_name, cookie_attributes(ctx, true), std::max(chunks, 1));
    headers += "Cache-Control: no-store\r\n";
    auto provider = provider_->state();
    const std::string post_logout = config_.logout_redirect_uri.empty() ? "" : config_.logout_redirect_uri.front();
    if (provider && !provider->metadata.end_session_endpoint.empty()) {
      std::vector<std::pair<std::string, std::string>> query;
      if (!id_token.empty()) query.emplace_back("id_token_hint", id_token);
      if (!post_logout.empty()) query.emplace_back("post_logout_redirect_uri", post_logout);
      query.emplace_back("state", oc::random_token());
      const std::string& endpoint = provider->metadata.end_session_endpoint;
      headers += "Location: " + endpoint + (endpoint.find('?') == std::string::npos ? "?" : "&") + oc::form_encode(query) + "\r\n";
      ctx.reply(302, "Logged out", ctx.store(headers));
    } else if (!post_logout.empty()) {
      ctx.reply(302, "Logged out", ctx.store(headers + "Location: " + post_logout + "\r\n"));
    } else {
      ctx.reply(204, "", ctx.store(headers));
    }
    return Access::replied;
  }

  const oc::OidcConfig& config_;
  std::string redirect_path_;
  crypto::SealedBox sessions_, pre_logins_;
  oc::ClientCredentials client_;
  bool openid_ = true;
  const config::ConsumerConfig* anonymous_ = nullptr;
  StringMap<const config::ConsumerConfig*> consumers_;
  std::shared_ptr<oc::Provider> provider_;
  mutable ExpiringCache<OpenedSession> opened_{kOpenedSessions};
};

}  // namespace

const Schema& openid_connect_schema() {
  static const Schema schema{
      .name = "openid-connect",
      .priority = 1050,  // Kong's: after key-auth-style plugins, before acl and rate limiting
      .phases = kAccess,
      .scopes = kGlobal | kService | kRoute,  // as Kong's: not on a consumer (it finds the consumer)
      .config = &plugins::openid_connect::config_schema(),
      .check = check_auth_config<plugins::openid_connect::OidcConfig>,
      .instantiate = instantiate_as<OpenIdConnect, plugins::openid_connect::OidcConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
