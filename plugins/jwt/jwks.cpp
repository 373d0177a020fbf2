#include "plugins/jwt/jwks.hpp"
#include "core/system_info.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <spdlog/spdlog.h>

#include <vector>

#include "crypto/base64.hpp"
#include "net/http_fetch.hpp"
#include "plugin/counters.hpp"

namespace portico::plugins::jwt {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

std::atomic<std::uint64_t>& g_refreshes = plugin::counter("jwt_jwks_refreshes");
std::atomic<std::uint64_t>& g_refresh_failures = plugin::counter("jwt_jwks_refresh_failures");

std::string member(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool b64_member(const json::object& o, std::string_view name, std::string& out) {
  std::string text = member(o, name);
  return !text.empty() && crypto::base64url_decode(text, out);
}

// Builds a key from OpenSSL parameters (the public half, or the pair when `with_private`).
Pkey from_params(const char* type, OSSL_PARAM_BLD* bld, bool with_private) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1) {
    EVP_PKEY_fromdata(ctx, &key, with_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params);
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return key == nullptr ? Pkey() : Pkey(key, PkeyDeleter{});
}

// JWK members (base64url big-endian integers) as BIGNUM parameters; the numbers live until
// the builder has made its parameters.
class BigNumbers {
 public:
  ~BigNumbers() {
    for (BIGNUM* n : owned_) BN_clear_free(n);
  }
  // False when the member is missing or not base64url.
  bool push(OSSL_PARAM_BLD* bld, const char* param, const json::object& jwk, std::string_view member_name) {
    std::string bytes;
    if (!b64_member(jwk, member_name, bytes)) return false;
    BIGNUM* n = BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr);
    OPENSSL_cleanse(bytes.data(), bytes.size());
    if (n == nullptr) return false;
    owned_.push_back(n);
    return OSSL_PARAM_BLD_push_BN(bld, param, n) == 1;
  }

 private:
  std::vector<BIGNUM*> owned_;
};

Pkey rsa_key(const json::object& jwk, bool with_private) {
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  BigNumbers numbers;
  bool ok = bld != nullptr && numbers.push(bld, OSSL_PKEY_PARAM_RSA_N, jwk, "n") && numbers.push(bld, OSSL_PKEY_PARAM_RSA_E, jwk, "e");
  if (with_private) {  // RFC 7518 6.3.2, all of them (OpenSSL signs with the CRT values)
    ok = ok && numbers.push(bld, OSSL_PKEY_PARAM_RSA_D, jwk, "d") && numbers.push(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, jwk, "p") &&
         numbers.push(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, jwk, "q") &&
         numbers.push(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, jwk, "dp") &&
         numbers.push(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, jwk, "dq") &&
         numbers.push(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, jwk, "qi");
  }
  Pkey key = ok ? from_params("RSA", bld, with_private) : Pkey();
  OSSL_PARAM_BLD_free(bld);
  return key;
}

Pkey ec_key(const json::object& jwk, std::string_view crv, bool with_private) {
  const char* group = crv == "P-256" ? "prime256v1" : crv == "P-384" ? "secp384r1" : crv == "P-521" ? "secp521r1" : nullptr;
  std::size_t size = crv == "P-256" ? 32 : crv == "P-384" ? 48 : 66;
  std::string x, y;
  if (group == nullptr || !b64_member(jwk, "x", x) || !b64_member(jwk, "y", y) || x.size() > size || y.size() > size) {
    return {};
  }
  // RFC 7518 6.2.1.2 wants full-length coordinates, but some libraries (PyJWT before 2.8,
  // among others) drop leading zero bytes: one key in about 128 would then be refused.
  // The number is the same either way, so a short coordinate is padded back.
  x.insert(0, size - x.size(), '\0');
  y.insert(0, size - y.size(), '\0');
  std::string point = "\x04" + x + y;  // uncompressed point
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  BigNumbers numbers;
  bool ok = bld != nullptr && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) == 1;
  if (with_private) ok = ok && numbers.push(bld, OSSL_PKEY_PARAM_PRIV_KEY, jwk, "d");
  Pkey key = ok ? from_params("EC", bld, with_private) : Pkey();
  OSSL_PARAM_BLD_free(bld);
  return key;
}

Pkey okp_key(const json::object& jwk, std::string_view crv, bool with_private) {
  std::string x;
  if ((crv != "Ed25519" && crv != "Ed448") || !b64_member(jwk, with_private ? "d" : "x", x)) return {};
  const int type = crv == "Ed25519" ? EVP_PKEY_ED25519 : EVP_PKEY_ED448;
  const auto* bytes = reinterpret_cast<const unsigned char*>(x.data());
  EVP_PKEY* key = with_private ? EVP_PKEY_new_raw_private_key(type, nullptr, bytes, x.size())
                               : EVP_PKEY_new_raw_public_key(type, nullptr, bytes, x.size());
  OPENSSL_cleanse(x.data(), x.size());
  return key == nullptr ? Pkey() : Pkey(key, PkeyDeleter{});
}

// A JWK's algorithm: its "alg", else EC and OKP keys by their curve, RSA keys RS256.
std::string alg_of(const json::object& jwk) {
  std::string alg = member(jwk, "alg");
  if (!alg.empty()) return alg;
  const std::string kty = member(jwk, "kty"), crv = member(jwk, "crv");
  return kty == "RSA" ? "RS256" : crv == "P-256" ? "ES256" : crv == "P-384" ? "ES384" : crv == "P-521" ? "ES512"
         : kty == "OKP" ? "EdDSA" : "";
}

Pkey key_of(const json::object& jwk, bool with_private) {
  const std::string kty = member(jwk, "kty"), crv = member(jwk, "crv");
  return kty == "RSA" ? rsa_key(jwk, with_private) : kty == "EC" ? ec_key(jwk, crv, with_private)
         : kty == "OKP" ? okp_key(jwk, crv, with_private) : Pkey();
}

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

KeyMap parse_jwks(const json::value& doc, std::string& skipped) {
  KeyMap keys;
  const json::value* list = doc.is_object() ? doc.as_object().if_contains("keys") : nullptr;
  if (list == nullptr || !list->is_array()) {
    skipped = "no \"keys\" array";
    return keys;
  }
  auto skip = [&](const std::string& kid, const std::string& why) {
    skipped += (skipped.empty() ? "" : "; ") + ("'" + kid + "': " + why);
  };
  for (const auto& item : list->as_array()) {
    if (!item.is_object()) continue;
    const auto& jwk = item.as_object();
    std::string kid = member(jwk, "kid"), kty = member(jwk, "kty"), use = member(jwk, "use");
    if (!use.empty() && use != "sig") continue;  // encryption keys
    const std::string alg_text = alg_of(jwk);
    auto alg = parse_alg(alg_text);
    if (!alg || is_hmac(*alg)) {
      skip(kid, "unsupported alg '" + alg_text + "'");
      continue;
    }
    Pkey pkey = key_of(jwk, false);
    std::string why;
    auto key = pkey ? make_key(*alg, std::move(pkey), why) : std::nullopt;
    if (!key) {
      skip(kid, why.empty() ? "invalid or unsupported " + kty + " key" : why);
      continue;
    }
    keys.insert_or_assign(kid, std::move(*key));
  }
  return keys;
}

std::optional<VerifyKey> signing_key_from_jwk(const json::object& jwk, std::string_view alg_name, std::string& error) {
  const std::string alg_text = alg_name.empty() ? alg_of(jwk) : std::string(alg_name);
  const auto alg = parse_alg(alg_text);
  if (!alg) {
    error = "unsupported alg '" + alg_text + "'";
    return std::nullopt;
  }
  if (is_hmac(*alg)) {  // an "oct" key: its "k" is the secret
    std::string secret;
    if (member(jwk, "kty") != "oct" || !b64_member(jwk, "k", secret)) {
      error = "an oct key with \"k\" is required for " + alg_text;
      return std::nullopt;
    }
    return make_key(*alg, secret, false, error);
  }
  Pkey pkey = key_of(jwk, true);
  if (!pkey) {
    error = "not a private " + member(jwk, "kty") + " key (its private members are missing or invalid)";
    return std::nullopt;
  }
  return make_key(*alg, std::move(pkey), error);
}

JwksKeySet::JwksKeySet(asio::io_context* control, Options options) : control_(control), options_(std::move(options)) {}

void JwksKeySet::start() {
  if (control_ == nullptr) return;
  refreshing_ = true;
  asio::co_spawn(*control_, loop(weak_from_this()), asio::detached);
}

bool JwksKeySet::request_refresh() {
  if (refreshing()) return true;
  std::int64_t now = steady_ms();
  std::int64_t last = last_early_ms_.load(std::memory_order_relaxed);
  if (now - last < options_.min_refresh_interval.count()) return false;
  if (!last_early_ms_.compare_exchange_strong(last, now)) return refreshing();  // another thread won
  if (control_ == nullptr) return false;
  refreshing_ = true;
  // Wake the loop on the control thread (timers are not thread-safe).
  asio::post(*control_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      if (auto timer = self->wake_.lock()) timer->cancel();
    }
  });
  return true;
}

asio::awaitable<bool> JwksKeySet::fetch_once() {
  // (A named variable: GCC 12 destroys a braced temporary argument of a coroutine call twice.)
  net::FetchOptions fetch{options_.timeout, 1 << 20, true};
  auto result = co_await net::http_get(*control_, options_.uri, std::move(fetch));
  std::string problem;
  KeyMap keys;
  if (result.status == 0) {
    problem = result.error;
  } else if (result.status != 200) {
    problem = "HTTP " + std::to_string(result.status);
  } else {
    boost::system::error_code ec;
    json::value doc = json::parse(result.body, ec);
    std::string skipped;
    if (ec) problem = "invalid JSON";
    else keys = parse_jwks(doc, skipped);
    if (problem.empty() && keys.empty()) problem = "no usable keys (" + skipped + ")";
    else if (!skipped.empty()) spdlog::warn("jwks {}: keys skipped: {}", options_.uri, skipped);
  }
  attempts_.fetch_add(1, std::memory_order_acq_rel);
  last_attempt_unix_ = unix_now();
  last_error_ = problem;
  if (!problem.empty()) {
    g_refresh_failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("jwks {}: refresh failed ({}); {}", options_.uri, problem,
                 keys_.load() ? "keeping the keys already loaded" : "no keys loaded yet");
    co_return false;
  }
  g_refreshes.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("jwks {}: {} keys loaded", options_.uri, keys.size());
  keys_.store(std::make_shared<const PublishedKeys>(PublishedKeys{++generation_, std::move(keys)}),
              std::memory_order_release);
  last_refresh_unix_ = last_attempt_unix_;
  co_return true;
}

json::object JwksKeySet::status_json() const {
  json::array keys;
  if (auto published = keys_.load(std::memory_order_acquire)) {
    for (const auto& [kid, key] : published->keys) keys.emplace_back(json::object{{"kid", kid}, {"alg", alg_name(key.alg)}});
  }
  auto unix_or_null = [](std::int64_t t) { return t == 0 ? json::value(nullptr) : json::value(t); };
  return json::object{{"uri", options_.uri},
                      {"keys", std::move(keys)},
                      {"last_refresh", unix_or_null(last_refresh_unix_)},
                      {"last_attempt", unix_or_null(last_attempt_unix_)},
                      {"last_error", last_error_.empty() ? json::value(nullptr) : json::value(last_error_)}};
}

asio::awaitable<void> JwksKeySet::loop(std::weak_ptr<JwksKeySet> weak) {
  auto failure_wait = std::chrono::milliseconds(1000);
  std::shared_ptr<asio::steady_timer> timer;
  for (;;) {
    auto self = weak.lock();
    if (!self) co_return;
    bool ok = co_await self->fetch_once();
    self->refreshing_ = false;
    auto wait = self->options_.refresh_interval;
    if (ok) {
      failure_wait = std::chrono::milliseconds(1000);
    } else {  // retry sooner, backing off up to the refresh interval
      wait = std::min(wait, failure_wait);
      failure_wait = std::min(failure_wait * 2, self->options_.refresh_interval);
    }
    if (!timer) {
      timer = std::make_shared<asio::steady_timer>(*self->control_);
      self->wake_ = timer;
    }
    timer->expires_after(wait);
    self.reset();  // the wait must not keep the set alive
    auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    // Cancelled: an early refresh was asked for, or the set is going away (checked above).
    (void)ec;
  }
}

}  // namespace portico::plugins::jwt
