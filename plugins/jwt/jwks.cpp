#include "plugins/jwt/jwks.hpp"

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

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

// Builds a public key from OpenSSL parameters.
Pkey from_params(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1) {
    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return key == nullptr ? Pkey() : Pkey(key, PkeyDeleter{});
}

Pkey rsa_key(const json::object& jwk) {
  std::string n, e;
  if (!b64_member(jwk, "n", n) || !b64_member(jwk, "e", e)) return {};
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr);
  Pkey key;
  if (bld != nullptr && bn_n != nullptr && bn_e != nullptr && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1) {
    key = from_params("RSA", bld);
  }
  BN_free(bn_n);
  BN_free(bn_e);
  OSSL_PARAM_BLD_free(bld);
  return key;
}

Pkey ec_key(const json::object& jwk, std::string_view crv) {
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
  Pkey key;
  if (bld != nullptr && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) == 1) {
    key = from_params("EC", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  return key;
}

Pkey okp_key(const json::object& jwk, std::string_view crv) {
  std::string x;
  if ((crv != "Ed25519" && crv != "Ed448") || !b64_member(jwk, "x", x)) return {};
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(crv == "Ed25519" ? EVP_PKEY_ED25519 : EVP_PKEY_ED448, nullptr,
                                              reinterpret_cast<const unsigned char*>(x.data()), x.size());
  return key == nullptr ? Pkey() : Pkey(key, PkeyDeleter{});
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
    std::string kid = member(jwk, "kid"), kty = member(jwk, "kty"), crv = member(jwk, "crv"), use = member(jwk, "use");
    if (!use.empty() && use != "sig") continue;  // encryption keys
    std::string alg_text = member(jwk, "alg");
    if (alg_text.empty()) alg_text = kty == "RSA" ? "RS256" : crv == "P-256" ? "ES256" : crv == "P-384" ? "ES384"
                                   : crv == "P-521" ? "ES512" : kty == "OKP" ? "EdDSA" : "";
    auto alg = parse_alg(alg_text);
    if (!alg || is_hmac(*alg)) {
      skip(kid, "unsupported alg '" + alg_text + "'");
      continue;
    }
    Pkey pkey = kty == "RSA" ? rsa_key(jwk) : kty == "EC" ? ec_key(jwk, crv) : kty == "OKP" ? okp_key(jwk, crv) : Pkey();
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
  co_return true;
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
