// The basic-auth plugin (Kong's, priority 1100): RFC 7617 credentials checked against the
// consumers' basicauth_credentials, whose passwords are kept only as PBKDF2 hashes.
//
//   Authorization (or Proxy-Authorization): Basic base64(user ":" password). Missing,
//   malformed or wrong credentials: 401 "Unauthorized" with
//   WWW-Authenticate: Basic realm="<realm>" (default "service", as Kong).
//   Verdicts are remembered for a minute (PasswordCache), and slow checks are capped per
//   second: beyond the cap a request that would need one gets 429 with Retry-After.
//   hide_credentials removes the header from what the upstream receives.
#include "crypto/base64.hpp"
#include "http/header_view.hpp"
#include "plugin/auth.hpp"
#include "plugin/counters.hpp"
#include "plugins/basic-auth/password_cache.hpp"

namespace portico::plugin {
namespace {

using plugins::PasswordCache;

struct BasicAuthConfig : ParsedConfig {
  bool hide_credentials = false;
  std::string realm = "service";
  AuthOptions auth;
};

const ConfigSchema& config_schema() {
  using C = BasicAuthConfig;
  static const ConfigSchemaOf<C> schema([] {
    schema::Record<C> r;
    r.field("hide_credentials", &C::hide_credentials).field("realm", &C::realm, {.check = realm_problem});
    add_auth_fields(r);
    return r;
  }());
  return schema;
}

struct UserOwner {
  const config::ConsumerConfig* consumer;
  const config::BasicAuthCredential* credential;
};

std::atomic<std::uint64_t>& g_throttled = counter("basic_auth_checks_throttled");
std::atomic<std::uint64_t>& g_slow_checks = counter("basic_auth_slow_checks");

class BasicAuth final : public Instance {
 public:
  BasicAuth(const BasicAuthConfig& config, BuildContext& build) : config_(config) {
    const config::DeclarativeConfig& all = build.config;
    anonymous_ = config.auth.anonymous.empty() ? nullptr : find_consumer(all, config.auth.anonymous);
    for (const auto& consumer : all.consumers) {
      for (const auto& credential : consumer.basicauth_credentials) {
        users_.emplace(credential.username, UserOwner{&consumer, &credential});
      }
    }
    challenge_ = "WWW-Authenticate: Basic realm=\"" + config.realm + "\"\r\n";
  }

  Access access(RequestContext& ctx) const override {
    return authenticate(ctx, config_.auth, anonymous_, [&] { return check(ctx); });
  }

 private:
  bool unauthorized(RequestContext& ctx) const {
    ctx.reply(401, "Unauthorized", challenge_);
    return false;
  }

  bool check(RequestContext& ctx) const {
    std::string_view header_name = "Authorization";
    std::string_view value = ctx.request().find("authorization");
    if (value.empty()) {
      header_name = "Proxy-Authorization";
      value = ctx.request().find("proxy-authorization");
    }
    // RFC 7617: the scheme is case-insensitive, one space, then token68 base64.
    constexpr std::string_view kScheme = "basic ";
    if (value.size() <= kScheme.size() || !http::iequals(value.substr(0, kScheme.size()), kScheme)) {
      return unauthorized(ctx);
    }
    std::string_view encoded = value.substr(kScheme.size());
    while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
    std::string decoded;
    if (encoded.size() > 4096 || !crypto::base64_decode(encoded, decoded)) return unauthorized(ctx);
    auto colon = decoded.find(':');
    if (colon == std::string::npos) return unauthorized(ctx);
    std::string_view user(decoded.data(), colon);
    std::string_view password(decoded.data() + colon + 1, decoded.size() - colon - 1);
    auto it = users_.find(user);
    if (it == users_.end()) return unauthorized(ctx);
    const auto& credential = *it->second.credential;
    auto& cache = PasswordCache::shared();
    auto verdict = cache.lookup(credential.id, credential.password, password);
    if (verdict == PasswordCache::Verdict::unknown) {
      if (!cache.take_check_token()) {
        g_throttled.fetch_add(1, std::memory_order_relaxed);
        ctx.reply(429, "Too many authentication attempts, retry later", "Retry-After: 1\r\n");
        return false;
      }
      g_slow_checks.fetch_add(1, std::memory_order_relaxed);
      bool match = crypto::verify_password(password, credential.password);
      cache.remember(credential.id, credential.password, password, match);
      verdict = match ? PasswordCache::Verdict::match : PasswordCache::Verdict::mismatch;
    }
    if (verdict != PasswordCache::Verdict::match) return unauthorized(ctx);
    if (config_.hide_credentials) ctx.upstream_headers().remove(header_name);
    ctx.authenticate(*it->second.consumer, credential.username);
    return true;
  }

  const BasicAuthConfig& config_;
  const config::ConsumerConfig* anonymous_ = nullptr;
  StringMap<UserOwner> users_;
  std::string challenge_;
};

}  // namespace

const Schema& basic_auth_schema() {
  static const Schema schema{
      .name = "basic-auth",
      .priority = 1100,
      .phases = kAccess,
      .scopes = kGlobal | kService | kRoute,
      .config = &config_schema(),
      .check = check_auth_config<BasicAuthConfig>,
      .instantiate = instantiate_as<BasicAuth, BasicAuthConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
