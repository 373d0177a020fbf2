// The openid-connect plugin (README.md): login at the gateway with the authorization code flow
// (PKCE, state and nonce sealed in a short-lived pre-login cookie), an encrypted session cookie
// after it, refresh with the refresh token, logout; the verified identity to the upstream.
#include <spdlog/spdlog.h>

#include <chrono>
#include <limits>

#include "crypto/aead.hpp"
#include "http/params.hpp"
#include "plugin/registry.hpp"
#include "plugins/openid-connect/instance.hpp"
#include "proxy/shared_state.hpp"

namespace portico::plugins::openid_connect {

namespace json = boost::json;
namespace asio = boost::asio;

namespace {

constexpr double kTouchEvery = 60;  // seconds: a used session's cookie is rewritten at most this often
constexpr std::size_t kOpenedSessions = 10000;  // session cookies remembered opened (all workers)
constexpr double kKeepOpenedAtMost = 3600;       // seconds, when no timeout bounds a session sooner
constexpr std::size_t kVerifiedBearers = 10000;  // access tokens remembered verified (all workers)

// The session secrets, the first one sealing.
std::vector<std::string> secrets(const OidcConfig& c) {
  if (!c.session_secret.empty()) {
    std::vector<std::string> all{c.session_secret};
    all.insert(all.end(), c.session_secret_fallbacks.begin(), c.session_secret_fallbacks.end());
    return all;
  }
  // Kong's behaviour without session_secret: a random secret (here per process and entry;
  // sessions then end with a restart, and nodes do not share them: set session_secret).
  return {crypto::random_bytes(32)};
}

// The path of an absolute URL ("/callback" of "https://app.example.com/callback?x=1").
std::string url_path(std::string_view url) {
  const std::size_t scheme = url.find("://");
  const std::size_t start = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  if (start == std::string_view::npos) return "/";
  return std::string(url.substr(start, url.find_first_of("?#", start) - start));
}

}  // namespace

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::chrono::milliseconds ms(double milliseconds) { return std::chrono::milliseconds(static_cast<long long>(milliseconds)); }

std::string_view cookie_list(const http::RequestHead& head, std::string& storage) {
  std::string_view only;
  int found = 0;
  for (const auto& h : head.headers) {
    if (!http::iequals(h.name, "cookie")) continue;
    if (++found == 1) {
      only = h.value;
      continue;
    }
    if (found == 2) storage.assign(only);
    storage += "; ";
    storage += h.value;
  }
  return found <= 1 ? only : std::string_view(storage);
}

std::string claim_text(const json::value& v) { return v.is_string() ? std::string(v.get_string()) : json::serialize(v); }

bool has_control(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

OpenIdConnect::OpenIdConnect(const OidcConfig& config, plugin::BuildContext& build)
    : config_(config),
      methods_{has_method(config, "authorization_code"), has_method(config, "session"), has_method(config, "bearer"),
               has_method(config, "introspection")},
      redirect_path_(config.redirect_uri.empty() ? std::string() : url_path(config.redirect_uri.front())),
      sessions_(secrets(config), "openid-connect session"),
      pre_logins_(secrets(config), "openid-connect authorization"),
      opened_(kOpenedSessions),
      bearers_(kVerifiedBearers),
      issuers_allowed_(config.issuers_allowed) {
  anonymous_ = config.auth.anonymous.empty() ? nullptr : plugin::find_consumer(build.config, config.auth.anonymous);
  for (const auto& c : build.config.consumers) {
    for (const std::string& by : config.consumer_by) {
      const std::string& key = by == "id" ? c.id : by == "username" ? c.username : c.custom_id;
      if (!key.empty()) consumers_.emplace(key, &c);
    }
  }
  if (config.issue_jwt.enabled()) {
    std::string error;
    internal_key_ = internal_jwt_key(config.issue_jwt, error);  // checked at load: cannot fail here
    if (internal_key_) internal_keys_.emplace(config.issue_jwt.key_id, *internal_key_);
  }
  client_.id = config.client_id.empty() ? "" : config.client_id.front();
  client_.secret = config.client_secret.empty() ? "" : config.client_secret.front();
  client_.auth_method = config.client_auth.empty() ? "client_secret_basic" : config.client_auth.front();
  if (config.client_jwk.is_array()) {
    std::string error;
    if (auto key = client_private_key(config, error)) {  // checked at load when private_key_jwt uses it
      client_.private_key = std::make_shared<const jwt::VerifyKey>(std::move(*key));
      const json::object& jwk = config.client_jwk.get_array().front().get_object();
      if (const json::value* kid = jwk.if_contains("kid"); kid != nullptr && kid->is_string()) client_.private_key_id = kid->get_string();
    }
  }
  if (!config.client_alg.empty()) {
    if (auto alg = jwt::parse_alg(config.client_alg.front()); alg && jwt::is_hmac(*alg)) client_.secret_alg = *alg;
  }
  openid_ = std::find(config.scopes.begin(), config.scopes.end(), "openid") != config.scopes.end();
  Provider::Options o;
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
  refreshes_ = build.shared.plugin_state<RefreshFlights>(key + "|refresh|" + client_.id,
                                                         [] { return std::make_shared<RefreshFlights>(); });
  provider_ = build.shared.plugin_state<Provider>(key, [&] {
    auto p = std::make_shared<Provider>(build.control, o);
    p->start();
    return p;
  });
}

Access OpenIdConnect::access(RequestContext& ctx) const { return decide(ctx, true); }

ClientCredentials OpenIdConnect::client_for(const ProviderState& provider) const {
  ClientCredentials client = client_;
  client.audience = provider.metadata.token_endpoint;  // a client assertion's aud (OpenID Connect Core 9)
  return client;
}

asio::awaitable<Access> OpenIdConnect::access_async(RequestContext& ctx) const {
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
    if (step == Step::bearer) {
      Access bearer_result = co_await bearer_async(ctx);
      co_return bearer_result;
    }
    Access refreshed = co_await refresh(ctx);
    co_return refreshed;
  }
}

Access OpenIdConnect::decide(RequestContext& ctx, bool may_wait) const {
  scrub_identity_headers(ctx);
  if (!config_.auth.run_on_preflight && ctx.request().method == "OPTIONS") return Access::next;
  if (anonymous_ != nullptr && ctx.has_credential()) return Access::next;
  std::string cookie_storage;
  const std::string_view cookies = cookie_list(ctx.request(), cookie_storage);
  if (is_logout(ctx)) return logout(ctx, cookies);
  if (is_callback(ctx)) return suspend(ctx, Step::callback);
  if (methods_.session) {
    int chunks = 0;
    if (auto opened = read_session(ctx, cookies, chunks)) {
      const Session& session = opened->session;
      const double now = now_seconds();
      if (needs_refresh(session, now)) return suspend(ctx, Step::refresh);
      if (!identify(ctx, opened->identity, cookies)) return Access::replied;
      // Keeps the idling timeout from ending a used session (without one, nothing to write).
      if (config_.session_idling_timeout > 0 && now - session.seen >= kTouchEvery) {
        Session touched = session;
        touched.seen = now;
        write_session(ctx, touched, chunks);
      }
      return Access::next;
    }
  }
  if (methods_.bearer || methods_.introspection) {
    const FoundToken found = find_bearer_token(ctx);
    if (!found.token.empty()) return bearer(ctx, found);
    if (may_carry_body_token(ctx)) return suspend(ctx, Step::bearer);
  }
  if (may_wait && !provider_->state() && methods_.code) {
    return suspend(ctx, Step::provider);
  }
  return no_credentials(ctx);
}

asio::awaitable<void> OpenIdConnect::wait_for_provider() const {
  bool waited = co_await wait_while([this] { return !provider_->state(); });
  (void)waited;
}

Access OpenIdConnect::suspend(RequestContext& ctx, Step step) const {
  ctx.state<StepState>(*this).step = step;
  return Access::suspend;
}

CookieAttributes OpenIdConnect::cookie_attributes(const RequestContext& ctx, bool session) const {
  CookieAttributes a;
  a.path = session ? config_.session_cookie_path : "/";
  a.domain = session ? config_.session_cookie_domain : "";
  // The pre-login cookie must come back on the provider's top-level redirect: Lax.
  a.same_site = session ? config_.session_cookie_same_site : "Lax";
  a.secure = config_.session_cookie_secure.value_or(ctx.scheme() == "https");
  a.http_only = session ? config_.session_cookie_http_only : true;
  return a;
}

bool OpenIdConnect::is_logout(const RequestContext& ctx) const {
  const std::string_view path = ctx.request().path;
  const std::string& suffix = config_.logout_uri_suffix;
  if (suffix.empty() || path.size() < suffix.size() || path.substr(path.size() - suffix.size()) != suffix) return false;
  return std::find(config_.logout_methods.begin(), config_.logout_methods.end(), ctx.request().method) !=
         config_.logout_methods.end();
}

bool OpenIdConnect::is_callback(const RequestContext& ctx) const {
  return methods_.code && ctx.request().path == redirect_path_ &&
         !http::query_value(ctx.request().query, "state").empty();
}

std::shared_ptr<const OpenedSession> OpenIdConnect::read_session(RequestContext& ctx, std::string_view cookies, int& chunks) const {
  std::string joined;
  auto sealed = read_cookie(cookies, config_.session_cookie_name, chunks, joined);
  if (!sealed) return nullptr;
  const double now = now_seconds();
  std::shared_ptr<const OpenedSession> opened = opened_.find(*sealed);
  if (!opened) {
    auto plain = sessions_.open(*sealed, kCookieChunk * kMaxCookieChunks);
    auto session = plain ? decode_session(*plain) : std::nullopt;
    if (session) {
      auto entry = std::make_shared<OpenedSession>();
      entry->expires_at = std::min(deadline_of(*session), now + kKeepOpenedAtMost);
      entry->identity = identity_of(session->subject, session->claims, session->access_token);
      entry->session = std::move(*session);
      opened = entry;
      opened_.remember(*sealed, opened);
    }
  }
  std::string problem = opened ? session_expiry_problem(opened->session, timeouts(), now)
                               : std::string("the session cookie is not valid");
  if (!problem.empty()) {
    spdlog::debug("openid-connect: {}", problem);
    ctx.add_response_header_lines(ctx.store(clear_cookie_lines(config_.session_cookie_name, cookie_attributes(ctx, true), chunks)));
    return nullptr;
  }
  return opened;
}

double OpenIdConnect::deadline_of(const Session& s) const {
  double deadline = std::numeric_limits<double>::max();
  if (config_.session_absolute_timeout > 0) deadline = std::min(deadline, s.created + config_.session_absolute_timeout);
  if (config_.session_rolling_timeout > 0) deadline = std::min(deadline, s.renewed + config_.session_rolling_timeout);
  if (config_.session_idling_timeout > 0) deadline = std::min(deadline, s.seen + config_.session_idling_timeout);
  return deadline;
}

SessionTimeouts OpenIdConnect::timeouts() const {
  return {config_.session_rolling_timeout, config_.session_absolute_timeout, config_.session_idling_timeout};
}

bool OpenIdConnect::needs_refresh(const Session& s, double now) const {
  return s.access_expires > 0 && now >= s.access_expires - config_.leeway;
}

bool OpenIdConnect::write_session(RequestContext& ctx, const Session& s, int previous_chunks) const {
  const std::string lines = set_cookie_lines(config_.session_cookie_name, sessions_.seal(encode(s)),
                                                 cookie_attributes(ctx, true), previous_chunks);
  if (lines.empty()) {
    ctx.reply(500, "the session is too large for its cookies");
    return false;
  }
  ctx.add_response_header_lines(ctx.store(lines));
  return true;
}

Access OpenIdConnect::no_credentials(RequestContext& ctx) const {
  const std::string_view method = ctx.request().method;
  if (anonymous_ == nullptr && methods_.code && (method == "GET" || method == "HEAD")) {
    return start_login(ctx);
  }
  ctx.reply(401, config_.unauthorized_error_message, "WWW-Authenticate: Bearer\r\n");
  return plugin::finish_authentication(ctx, anonymous_, plugin::Verdict::failed);
}

std::shared_ptr<const ProviderState> OpenIdConnect::provider_state(RequestContext& ctx) const {
  auto state = provider_->state();
  if (!state) {
    spdlog::warn("openid-connect {}: provider not available: {}", config_.issuer, provider_->last_error());
    ctx.reply(503, "The identity provider is not available");
  }
  return state;
}

}  // namespace portico::plugins::openid_connect

namespace portico::plugin {

const Schema& openid_connect_schema() {
  static const Schema schema{
      .name = "openid-connect",
      .priority = 1050,  // Kong's: after key-auth-style plugins, before acl and rate limiting
      .phases = kAccess,
      .scopes = kGlobal | kService | kRoute,  // as Kong's: not on a consumer (it finds the consumer)
      .config = &plugins::openid_connect::config_schema(),
      .check = check_auth_config<plugins::openid_connect::OidcConfig>,
      .instantiate = instantiate_as<plugins::openid_connect::OpenIdConnect, plugins::openid_connect::OidcConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
