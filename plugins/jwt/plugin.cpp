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

#include "config/yaml_reader.hpp"
#include "http/header_view.hpp"
#include "http/params.hpp"
#include "plugin/auth.hpp"
#include "plugin/counters.hpp"
#include "plugins/jwt/jwks.hpp"
#include "plugins/jwt/jws.hpp"
#include "proxy/shared_state.hpp"
#include "plugins/jwt/verification_cache.hpp"

namespace portico::plugin {
namespace {

namespace json = boost::json;
using plugins::jwt::Alg;
using plugins::jwt::Token;
using plugins::jwt::VerifyKey;

struct JwtConfig : ParsedConfig {
  std::vector<std::string> uri_param_names{"jwt"};
  std::vector<std::string> cookie_names;
  std::vector<std::string> header_names{"authorization"};
  std::vector<std::string> claims_to_verify;  // exp, nbf
  std::string key_claim_name = "iss";
  bool secret_is_base64 = false;
  double maximum_expiration = 0;  // seconds; 0: no limit
  std::string realm;
  AuthOptions auth;
  // Portico additions (see README.md).
  std::string issuer;
  std::vector<std::string> audiences;
  double leeway = 0;  // seconds allowed for clock skew on exp / nbf
  std::vector<std::string> required_claims;
  std::vector<std::pair<std::string, std::string>> claims_to_headers;  // claim -> header
  int max_token_size = 8192;
  int verification_cache_size = 10000;
  // Keys from an identity provider instead of jwt_secrets (see README.md).
  std::string jwks_uri;
  double jwks_refresh_interval = 300;     // seconds
  double jwks_min_refresh_interval = 10;  // seconds between refreshes caused by unknown kids
  double jwks_timeout = 5;                // seconds per fetch
  std::string consumer_claim;             // with jwks_uri: claim naming a consumer (username or custom_id)
  config::SourceMark mark;
};

std::shared_ptr<const ParsedConfig> parse(config::YamlReader& r, const YAML::Node& node, const std::string& path) {
  auto c = std::make_shared<JwtConfig>();
  c->mark = config::mark_of(node);
  if (!node.IsDefined() || node.IsNull()) return c;
  config::FieldTable fields{
      {"uri_param_names", r.string_list_field(c->uri_param_names)},
      {"cookie_names", r.string_list_field(c->cookie_names)},
      {"header_names", r.string_list_field(c->header_names)},
      {"claims_to_verify", r.string_list_field(c->claims_to_verify)},
      {"key_claim_name", r.string_field(c->key_claim_name)},
      {"secret_is_base64", r.bool_field(c->secret_is_base64)},
      {"maximum_expiration", r.number_field(c->maximum_expiration, 0, 31536000)},
      {"realm", r.nullable_string_field(c->realm)},
      {"issuer", r.string_field(c->issuer)},
      {"audiences", r.string_list_field(c->audiences)},
      {"leeway", r.number_field(c->leeway, 0, 3600)},
      {"required_claims", r.string_list_field(c->required_claims)},
      {"claims_to_headers", [&](const YAML::Node& v, const std::string& p) {
         if (!v.IsMap()) return r.add(v, p, "expected an object of claim: header-name");
         for (const auto& kv : v) {
           std::string claim = kv.first.as<std::string>(""), header = kv.second.as<std::string>("");
           if (!is_token(header)) r.add(kv.second, p + "." + claim, "not a valid header name");
           else c->claims_to_headers.emplace_back(claim, header);
         }
       }},
      {"max_token_size", r.int_field(c->max_token_size, 256, 1 << 20)},
      {"verification_cache_size", r.int_field(c->verification_cache_size, 0, 10000000)},
      {"jwks_uri", r.string_field(c->jwks_uri)},
      {"jwks_refresh_interval", r.number_field(c->jwks_refresh_interval, 1, 86400)},
      {"jwks_min_refresh_interval", r.number_field(c->jwks_min_refresh_interval, 0, 3600)},
      {"jwks_timeout", r.number_field(c->jwks_timeout, 0.1, 60)},
      {"consumer_claim", r.string_field(c->consumer_claim)},
  };
  add_auth_fields(r, fields, c->auth);
  r.read_object(node, path, fields);
  if (!c->jwks_uri.empty() && c->jwks_uri.rfind("http://", 0) != 0 && c->jwks_uri.rfind("https://", 0) != 0) {
    r.add(node["jwks_uri"], path + ".jwks_uri", "expected an http:// or https:// URL");
  }
  if (!c->consumer_claim.empty() && c->jwks_uri.empty()) {
    r.add(node["consumer_claim"], path + ".consumer_claim", "only used with jwks_uri");
  }
  for (std::size_t i = 0; i < c->claims_to_verify.size(); ++i) {
    if (c->claims_to_verify[i] != "exp" && c->claims_to_verify[i] != "nbf") {
      r.add(config::element_or(node["claims_to_verify"], i), path + ".claims_to_verify[" + std::to_string(i) + "]",
            "expected one of: exp, nbf");
    }
  }
  bool verifies_exp = std::find(c->claims_to_verify.begin(), c->claims_to_verify.end(), "exp") != c->claims_to_verify.end();
  if (c->maximum_expiration > 0 && !verifies_exp) {
    r.add(node["maximum_expiration"], path + ".maximum_expiration", "requires 'exp' in claims_to_verify");
  }
  check_realm(r, node, path, c->realm);
  if (c->key_claim_name.empty()) r.add(node["key_claim_name"], path + ".key_claim_name", "must not be empty");
  return c;
}

// Every jwt_secret must make a usable key for its algorithm (checked once a jwt plugin is
// configured, so that a bad key is a configuration error rather than a failed snapshot).
void check(const ParsedConfig& parsed, const config::DeclarativeConfig& all, const CheckError& error) {
  const auto& c = static_cast<const JwtConfig&>(parsed);
  check_auth_options(c.auth, all, error);
  for (const auto& consumer : all.consumers) {
    for (const auto& s : consumer.jwt_secrets) {
      std::string why;
      auto alg = plugins::jwt::parse_alg(s.algorithm);
      if (!alg) continue;  // reported by the consumer reader
      const std::string& material = plugins::jwt::is_hmac(*alg) ? s.secret : s.rsa_public_key;
      if (!plugins::jwt::make_key(*alg, material, c.secret_is_base64, why)) {
        error(s.mark, "", "jwt_secret '" + s.key + "' of consumer '" + consumer.username + "': " + why);
      }
    }
  }
}

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

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
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
  bool fail_claim(RequestContext& ctx, std::string_view claim, std::string_view problem) const {
    json::object errors;
    errors[claim] = problem;
    ctx.reply_json(401, json::serialize(errors), challenge_invalid_);
    return false;
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
        return finish_verified(ctx, hit->claims, v);
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
      entry->expires_at = expiry_of(token.claims);
      entry->secret = v.secret;
      entry->kid = std::string(v.kid);
      cache_.remember(compact, std::move(entry));
    }
    return finish_verified(ctx, token.claims, v);
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

  Verdict finish_verified(RequestContext& ctx, const json::object& claims, const Verifier& v) const {
    if (!check_claims(ctx, claims)) return Verdict::failed;
    if (!forward_claims(ctx, claims)) return Verdict::failed;
    return identify(ctx, claims, v);
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
    auto it = v.jwks->keys.find(std::string(v.kid));
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

  static std::optional<double> number_claim(const json::object& claims, std::string_view name) {
    const json::value* v = claims.if_contains(name);
    if (v == nullptr || !v->is_number()) return std::nullopt;
    return v->to_number<double>();
  }

  static double expiry_of(const json::object& claims) {
    auto exp = number_claim(claims, "exp");
    return exp ? *exp : now_seconds() + 300;  // without exp: re-verified after five minutes
  }

  bool check_claims(RequestContext& ctx, const json::object& t) const {
    double now = now_seconds();
    for (const auto& name : config_.claims_to_verify) {
      auto value = number_claim(t, name);
      if (!value) return fail_claim(ctx, name, "must be a number");
      if (name == "exp" && *value <= now - config_.leeway) return fail_claim(ctx, "exp", "token expired");
      if (name == "nbf" && *value > now + config_.leeway) return fail_claim(ctx, "nbf", "token not valid yet");
    }
    if (config_.maximum_expiration > 0) {
      auto exp = number_claim(t, "exp");
      if (exp && *exp - now > config_.maximum_expiration) return fail_claim(ctx, "exp", "exceeds maximum allowed expiration");
    }
    for (const auto& name : config_.required_claims) {
      if (!t.contains(name)) return fail_claim(ctx, name, "missing");
    }
    if (!config_.issuer.empty()) {
      const json::value* iss = t.if_contains("iss");
      if (iss == nullptr || !iss->is_string() || iss->as_string() != config_.issuer) {
        return fail_claim(ctx, "iss", "does not match the expected issuer");
      }
    }
    if (!config_.audiences.empty() && !audience_matches(t)) {
      return fail_claim(ctx, "aud", "does not contain an accepted audience");
    }
    return true;
  }

  bool audience_matches(const json::object& claims) const {
    const json::value* aud = claims.if_contains("aud");
    if (aud == nullptr) return false;
    auto accepted = [&](const json::value& v) {
      return v.is_string() &&
             std::find(config_.audiences.begin(), config_.audiences.end(), std::string_view(v.as_string())) !=
                 config_.audiences.end();
    };
    if (aud->is_string()) return accepted(*aud);
    if (!aud->is_array()) return false;
    for (const auto& v : aud->as_array()) {
      if (accepted(v)) return true;
    }
    return false;
  }

  // claims_to_headers: strings as they are, other JSON values serialised. A value with a
  // control character could split the upstream request head: the token is refused.
  bool forward_claims(RequestContext& ctx, const json::object& claims) const {
    for (const auto& [claim, header] : config_.claims_to_headers) {
      const json::value* v = claims.if_contains(claim);
      if (v == nullptr) continue;
      std::string text = v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
      for (unsigned char c : text) {
        if (c < 0x20 || c == 0x7f) {
          fail(ctx, "Bad token; claim '" + claim + "' cannot be sent in a header");
          return false;
        }
      }
      ctx.upstream_headers().set(header, ctx.store(text));
    }
    return true;
  }

  const JwtConfig& config_;
  const config::ConsumerConfig* anonymous_ = nullptr;
  StringMap<Secret> secrets_;
  std::string challenge_, challenge_invalid_;
  mutable plugins::jwt::VerificationCache cache_;
  std::shared_ptr<plugins::jwt::JwksKeySet> keyset_;  // with jwks_uri
  StringMap<const config::ConsumerConfig*> consumers_;  // consumer_claim values
};

}  // namespace

const Schema& jwt_schema() {
  static const Schema schema{
      .name = "jwt",
      .priority = 1450,
      .phases = kAccess,
      .scopes = kGlobal | kService | kRoute,
      .parse = parse,
      .check = check,
      .instantiate = instantiate_as<Jwt, JwtConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
