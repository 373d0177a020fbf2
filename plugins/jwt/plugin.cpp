// The jwt plugin (Kong's, priority 1450): a signed JWT identifies the consumer whose
// jwt_secret matches the token's key claim (`iss` by default). See README.md.
//
// Checks, in order, each failing with 401 (Kong's messages) and nothing sent upstream:
// one token found (query, cookie, Authorization: Bearer), not over max_token_size, strict
// decoding (base64url, JSON without duplicate members, no "crit"), a known key claim, the
// token's alg equal to the secret's (the key pins the algorithm), the signature, then the
// claims (claims_to_verify exp/nbf with leeway, maximum_expiration, issuer, audiences,
// required_claims). Verified asymmetric tokens are remembered until they expire
// (VerificationCache) so a repeated token costs no signature check.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <spdlog/spdlog.h>

#include "http/header_view.hpp"
#include "http/params.hpp"
#include "plugin/auth.hpp"
#include "plugin/counters.hpp"
#include "plugins/jwt/claims.hpp"
#include "plugins/jwt/config.hpp"
#include "plugins/jwt/jwks.hpp"
#include "plugins/jwt/jws.hpp"
#include "proxy/shared_state.hpp"
#include "plugins/jwt/verification_cache.hpp"

namespace portico::plugin {
namespace {

namespace json = boost::json;
using plugins::jwt::JwtConfig;
using plugins::jwt::Token;
using plugins::jwt::VerifyKey;

struct Secret {
  const config::ConsumerConfig* consumer;
  const config::JwtSecret* secret;
  VerifyKey key;
  std::uint64_t verifier;  // identifies this key in the verification cache (even numbers)
};

// The key a token is checked against, and who it identifies.
struct Verifier {
  const VerifyKey* key = nullptr;
  std::uint64_t id = 0;
  const Secret* secret = nullptr;                     // jwt_secrets
  std::shared_ptr<const plugins::jwt::PublishedKeys> jwks;  // jwks_uri: keeps the key alive
  std::string_view kid;
};

std::atomic<std::uint64_t>& g_cache_hits = counter("jwt_verification_cache_hits");
std::atomic<std::uint64_t>& g_unknown_kid = counter("jwt_jwks_unknown_kid");
std::atomic<std::uint64_t>& g_unavailable = counter("jwt_jwks_unavailable");

// At most one such warning per second per process: hostile tokens cannot flood the log.
template <typename... Args>
void warn_limited(fmt::format_string<Args...> format, Args&&... args) {
  static std::atomic<std::int64_t> last_ms{0};
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  auto last = last_ms.load(std::memory_order_relaxed);
  if (now - last < 1000 || !last_ms.compare_exchange_strong(last, now)) return;
  spdlog::warn(format, std::forward<Args>(args)...);
}

class Jwt final : public Instance {
 public:
  Jwt(const JwtConfig& config, BuildContext& build)
      : config_(config), cache_(static_cast<std::size_t>(config.verification_cache_size)) {
    const config::DeclarativeConfig& all = build.config;
    anonymous_ = config.auth.anonymous.empty() ? nullptr : find_consumer(all, config.auth.anonymous);
    if (!config.jwks_uri.empty()) {
      start_jwks(build);
      if (!config.consumer_claim.empty()) {
        for (const auto& c : all.consumers) {
          if (!c.username.empty()) consumers_.emplace(c.username, &c);
          if (!c.custom_id.empty()) consumers_.emplace(c.custom_id, &c);
        }
      }
    }
    for (const auto& consumer : all.consumers) {
      for (const auto& s : consumer.jwt_secrets) {
        auto alg = plugins::jwt::parse_alg(s.algorithm);
        std::string why;
        std::optional<VerifyKey> key;
        if (alg) key = plugins::jwt::make_key(*alg, plugins::jwt::is_hmac(*alg) ? s.secret : s.rsa_public_key,
                                              config.secret_is_base64, why);
        if (!key) throw std::runtime_error("jwt_secret '" + s.key + "': " + why);
        secrets_.emplace(s.key, Secret{&consumer, &s, std::move(*key), 2 * (secrets_.size() + 1)});
      }
    }
    std::string base = "WWW-Authenticate: Bearer" + (config.realm.empty() ? "" : " realm=\"" + config.realm + "\"");
    challenge_ = base + "\r\n";
    challenge_invalid_ = base + (config.realm.empty() ? " " : ", ") + "error=\"invalid_token\"\r\n";
  }

  Access access(RequestContext& ctx) const override {
    // Client copies of the forwarded claims never reach the upstream, whatever happens.
    for (const auto& [claim, header] : config_.claims_to_headers) ctx.upstream_headers().remove(header);
    return authenticate(ctx, config_.auth, anonymous_, [&] { return check_token(ctx, true); });
  }

  // After check_token() asked to wait: a JWKS fetch is running (first load, or a refresh
  // for an unknown kid). Waits for it (bounded by jwks_timeout), then checks again without
  // waiting: the token passes, or gets 401 (unknown kid) / 503 (no keys ever loaded).
  boost::asio::awaitable<Access> access_async(RequestContext& ctx) const override {
    auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer poll(executor);
    auto give_up = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                          std::chrono::duration<double>(config_.jwks_timeout + 0.5));
    while (keyset_->refreshing() && std::chrono::steady_clock::now() < give_up) {
      poll.expires_after(std::chrono::milliseconds(10));
      co_await poll.async_wait(boost::asio::use_awaitable);
    }
    co_return finish_authentication(ctx, anonymous_, check_token(ctx, false));
  }

 private:
  void start_jwks(BuildContext& build) {
    plugins::jwt::JwksKeySet::Options o;
    o.uri = config_.jwks_uri;
    auto ms = [](double s) { return std::chrono::milliseconds(static_cast<long long>(s * 1000)); };
    o.refresh_interval = ms(config_.jwks_refresh_interval);
    o.min_refresh_interval = ms(config_.jwks_min_refresh_interval);
    o.timeout = ms(config_.jwks_timeout);
    std::string key = "jwt-jwks|" + o.uri + "|" + std::to_string(o.refresh_interval.count()) + "|" +
                      std::to_string(o.min_refresh_interval.count()) + "|" + std::to_string(o.timeout.count());
    keyset_ = build.shared.plugin_state<plugins::jwt::JwksKeySet>(key, [&] {
      auto set = std::make_shared<plugins::jwt::JwksKeySet>(build.control, o);
      set->start();
      return set;
    });
  }

  Verdict fail(RequestContext& ctx, std::string_view message) const {
    ctx.reply(401, message, challenge_invalid_);
    return Verdict::failed;
  }

  // The token(s) in the request: distinct values from query, cookies and Bearer headers.
  int find_tokens(RequestContext& ctx, std::string_view& token) const {
    int found = 0;
    auto offer = [&](std::string_view t) {
      if (t.empty() || t == token) return;
      if (found == 0) token = t;
      ++found;
    };
    const http::RequestHead& req = ctx.request();
    std::string decoded;
    for (const auto& name : config_.uri_param_names) {
      http::for_each_query_arg(req.query, [&](std::string_view k, std::string_view v) {
        if (k == name && http::percent_decode(v, decoded)) offer(ctx.store(decoded));
      });
    }
    if (!config_.cookie_names.empty()) {
      for (const auto& h : req.headers) {
        if (!http::iequals(h.name, "cookie")) continue;
        for (const auto& name : config_.cookie_names) offer(http::cookie_value(h.value, name));
      }
    }
    for (const auto& name : config_.header_names) {
      std::string_view v = req.find(name);
      // Kong's \s*[Bb]earer\s+(.+)
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      if (v.size() < 7 || (v[0] != 'B' && v[0] != 'b') || v.substr(1, 5) != "earer" || (v[6] != ' ' && v[6] != '\t')) continue;
      v.remove_prefix(6);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      offer(v);
    }
    return found;
  }

  Verdict check_token(RequestContext& ctx, bool may_wait) const {
    std::string_view compact;
    int found = find_tokens(ctx, compact);
    if (found == 0) {
      ctx.reply(401, "Unauthorized", challenge_);
      return Verdict::failed;
    }
    if (found > 1) return fail(ctx, "Multiple tokens provided");
    // Size first: nothing is decoded, let alone verified, for an oversized token.
    if (compact.size() > static_cast<std::size_t>(config_.max_token_size)) return fail(ctx, "Bad token; token too large");
    // A token seen before: its signature and decoding are known good; only the checks
    // that depend on the time or the request run again.
    if (cache_.enabled()) {
      Verifier v;
      if (auto hit = cache_.find(compact); hit && reuse(*hit, ctx, v)) {
        g_cache_hits.fetch_add(1, std::memory_order_relaxed);
        return finish_verified(ctx, compact, hit->claims, v);
      }
    }
    Token token;
    std::string error;
    if (!plugins::jwt::decode_token(compact, token, error)) return fail(ctx, "Bad token; " + error);
    const json::value* alg = token.header.if_contains("alg");
    if (alg == nullptr || !alg->is_string()) return fail(ctx, "Bad token; invalid alg");
    // RFC 7515 4.1.11: no extension is understood, so any critical one is refused.
    if (token.header.contains("crit")) return fail(ctx, "Bad token; unsupported critical header parameters");
    // jku / x5u / jwk / x5c in the header are never read: keys come from configuration only.

    Verifier v;
    Verdict found_key = keyset_ ? jwks_key(ctx, token, may_wait, v) : secret_key(ctx, token, v);
    if (found_key != Verdict::passed) return found_key;
    // The key pins the algorithm: "none", other spellings and HMAC/public-key confusion all fail here.
    if (alg->as_string() != plugins::jwt::alg_name(v.key->alg)) return fail(ctx, "Invalid algorithm");
    if (!plugins::jwt::verify_signature(*v.key, token.signing_input, token.signature)) {
      return fail(ctx, "Invalid signature");
    }
    if (cache_.enabled()) {
      auto entry = std::make_shared<plugins::jwt::VerifiedToken>();
      entry->claims = json::object(token.claims, json::storage_ptr());  // off the request's buffer
      entry->verifier = v.id;
      entry->expires_at = plugins::jwt::expiry_of(token.claims);
      entry->secret = v.secret;
      entry->kid = std::string(v.kid);
      cache_.remember(compact, std::move(entry));
    }
    return finish_verified(ctx, compact, token.claims, v);
  }

  // Whether a cached verification still holds (its key is still the one in use), filling `v`.
  bool reuse(const plugins::jwt::VerifiedToken& hit, RequestContext& ctx, Verifier& v) const {
    if (!keyset_) {
      v.secret = static_cast<const Secret*>(hit.secret);
      v.key = &v.secret->key;
      v.id = hit.verifier;
      return true;
    }
    v.jwks = keyset_->keys();
    if (!v.jwks || 2 * v.jwks->generation + 1 != hit.verifier) return false;
    v.kid = ctx.store(hit.kid);
    v.id = hit.verifier;
    return true;
  }

  Verdict finish_verified(RequestContext& ctx, std::string_view compact, const json::object& claims,
                          const Verifier& v) const {
    if (auto problem = plugins::jwt::check_claims(config_, claims, plugins::jwt::now_seconds())) {
      json::object errors;
      errors[problem->claim] = problem->problem;
      ctx.reply_json(401, json::serialize(errors), challenge_invalid_);
      return Verdict::failed;
    }
    std::string_view unsendable = plugins::jwt::forward_claims(config_, claims, ctx);
    if (!unsendable.empty()) return fail(ctx, "Bad token; claim '" + std::string(unsendable) + "' cannot be sent in a header");
    Verdict verdict = identify(ctx, claims, v);
    // The claims, for plugins that read them ({jwt.sub} in the aggregate plugin's templates).
    if (verdict == Verdict::passed) ctx.set_verified_claims(ctx.store(payload_part(compact)));
    return verdict;
  }

  // The payload of a compact JWS (header.payload.signature), still base64url.
  static std::string_view payload_part(std::string_view compact) {
    std::size_t first = compact.find('.');
    std::size_t second = compact.find('.', first + 1);
    return compact.substr(first + 1, second - first - 1);
  }

  // jwt_secrets: the secret named by the key claim.
  Verdict secret_key(RequestContext& ctx, const Token& token, Verifier& v) const {
    const json::value* key_claim = token.claims.if_contains(config_.key_claim_name);
    if (key_claim == nullptr) key_claim = token.header.if_contains(config_.key_claim_name);
    if (key_claim == nullptr) return fail(ctx, "No mandatory '" + config_.key_claim_name + "' in claims");
    if (!key_claim->is_string() || key_claim->as_string().empty()) {
      return fail(ctx, "Invalid '" + config_.key_claim_name + "' in claims");
    }
    auto it = secrets_.find(std::string_view(key_claim->as_string()));
    if (it == secrets_.end()) return fail(ctx, "No credentials found for given '" + config_.key_claim_name + "'");
    v.secret = &it->second;
    v.key = &it->second.key;
    v.id = it->second.verifier;
    return Verdict::passed;
  }

  // jwks_uri: the provider's key named by the token's kid.
  Verdict jwks_key(RequestContext& ctx, const Token& token, bool may_wait, Verifier& v) const {
    const json::value* kid = token.header.if_contains("kid");
    if (kid != nullptr && !kid->is_string()) return fail(ctx, "Bad token; invalid kid");
    v.kid = kid == nullptr ? std::string_view{} : ctx.store(kid->as_string());
    v.jwks = keyset_->keys();
    if (!v.jwks) {
      if (may_wait && keyset_->refreshing()) return Verdict::wait;
      g_unavailable.fetch_add(1, std::memory_order_relaxed);
      warn_limited("jwks {}: no keys loaded yet, answering 503 ({} so far)", config_.jwks_uri, g_unavailable.load());
      ctx.reply(503, "The identity provider's keys are not available");
      return Verdict::failed;
    }
    auto it = v.jwks->keys.find(v.kid);
    if (it == v.jwks->keys.end()) {
      // Maybe the provider rotated its keys: refresh (rate-limited) and wait for it once.
      if (may_wait && keyset_->request_refresh()) return Verdict::wait;
      g_unknown_kid.fetch_add(1, std::memory_order_relaxed);
      warn_limited("jwks {}: token with unknown kid '{}' refused ({} so far)", config_.jwks_uri, v.kid, g_unknown_kid.load());
      return fail(ctx, "No key found for the token's 'kid'");
    }
    v.key = &it->second;
    v.id = 2 * v.jwks->generation + 1;
    return Verdict::passed;
  }

  Verdict identify(RequestContext& ctx, const json::object& claims, const Verifier& v) const {
    if (v.secret != nullptr) {
      ctx.authenticate(*v.secret->consumer, v.secret->secret->key);
      return Verdict::passed;
    }
    if (config_.consumer_claim.empty()) {
      ctx.authenticate_without_consumer(v.kid);
      return Verdict::passed;
    }
    const json::value* claim = claims.if_contains(config_.consumer_claim);
    auto it = claim != nullptr && claim->is_string() ? consumers_.find(std::string_view(claim->as_string()))
                                                      : consumers_.end();
    if (it == consumers_.end()) return fail(ctx, "No consumer found for the token's '" + config_.consumer_claim + "'");
    ctx.authenticate(*it->second, v.kid);
    return Verdict::passed;
  }

  const JwtConfig& config_;
  const config::ConsumerConfig* anonymous_ = nullptr;

 public:
  const plugins::jwt::JwksKeySet* keyset() const { return keyset_.get(); }

 private:
  StringMap<Secret> secrets_;
  std::string challenge_, challenge_invalid_;
  mutable plugins::jwt::VerificationCache cache_;
  std::shared_ptr<plugins::jwt::JwksKeySet> keyset_;  // with jwks_uri
  StringMap<const config::ConsumerConfig*> consumers_;  // consumer_claim values
};

}  // namespace

namespace {
// GET /jwks (Portico's): each jwt entry with a jwks_uri and the state of its key set.
AdminAnswer list_key_sets(const AdminCall& call) {
  json::array data;
  for (const auto& [entry, instance] : call.instances) {
    const auto* jwt = dynamic_cast<const Jwt*>(instance);
    if (jwt == nullptr || jwt->keyset() == nullptr) continue;
    json::object set = jwt->keyset()->status_json();
    set["plugin_id"] = entry->id;
    data.emplace_back(std::move(set));
  }
  return {200, json::object{{"data", std::move(data)}}};
}
}  // namespace

const Schema& jwt_schema() {
  static const Schema schema{
      .name = "jwt",
      .priority = 1450,
      .phases = kAccess,
      .scopes = kGlobal | kService | kRoute,
      .config = &plugins::jwt::config_schema(),
      .check = plugins::jwt::check_config,
      .instantiate = instantiate_as<Jwt, JwtConfig>,
      .admin_endpoints = {{"/jwks", {"GET", "HEAD"}, answer_now<list_key_sets>}},
  };
  return schema;
}

}  // namespace portico::plugin
