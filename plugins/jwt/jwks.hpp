// Keys from an identity provider's JWKS (RFC 7517), for the jwt plugin's `jwks_uri`.
//
// A JwksKeySet is shared by every worker and kept across reloads while the URI and its
// options are unchanged (SharedStateRegistry). It is fetched on the control thread: at
// start, every refresh_interval, and early when a token names an unknown `kid` - at most
// once per min_refresh_interval, so a flood of tokens with made-up kids cannot flood the
// provider. A failed refresh keeps the keys already loaded (retried with backoff).
// Workers read the current keys through an atomic shared_ptr: no lock on the request path.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "plugin/string_map.hpp"
#include "plugins/jwt/jws.hpp"

namespace portico::plugins::jwt {

// kid -> key ("" for keys published without a kid).
using KeyMap = plugin::StringMap<VerifyKey>;
// One successful fetch's keys; `generation` tells fetches apart (a verification cache
// entry made with one generation's key is not trusted under another's).
struct PublishedKeys {
  std::uint64_t generation = 0;
  KeyMap keys;
};

// Parses a JWKS document; keys that are not for signatures, of unknown types, or that do
// not suit their algorithm are skipped (and named in `skipped`). The algorithm of a key is
// its "alg", else EC and OKP keys by their curve, RSA keys RS256.
KeyMap parse_jwks(const boost::json::value& doc, std::string& skipped);

// A private JWK (RFC 7518 6.2.2, 6.3.2; RFC 8037 OKP; "oct" for HMAC) as a key that signs, for
// `alg_name` (empty: the key's "alg", else by its type as above). nullopt with `error`.
std::optional<VerifyKey> signing_key_from_jwk(const boost::json::object& jwk, std::string_view alg_name, std::string& error);

class JwksKeySet : public std::enable_shared_from_this<JwksKeySet> {
 public:
  struct Options {
    std::string uri;
    std::chrono::milliseconds refresh_interval{300000};
    std::chrono::milliseconds min_refresh_interval{10000};
    std::chrono::milliseconds timeout{5000};
  };
  // `control` may be null (unit tests): start() then does nothing.
  JwksKeySet(boost::asio::io_context* control, Options options);

  // Starts the fetch loop (control thread). The loop ends when the set is destroyed.
  void start();

  // --- any thread ---
  // The keys of the last successful fetch; null until one succeeded.
  std::shared_ptr<const PublishedKeys> keys() const { return keys_.load(std::memory_order_acquire); }
  // Asks for an early refresh because of an unknown kid. True when one is running or was
  // started now (worth waiting for), false when rate-limited.
  bool request_refresh();
  bool refreshing() const { return refreshing_.load(std::memory_order_acquire); }
  // Bumped after every fetch attempt, successful or not.
  std::uint64_t attempts() const { return attempts_.load(std::memory_order_acquire); }
  const Options& options() const { return options_; }

  // --- control thread ---
  // For the dashboard (GET /jwks): {uri, keys: [{kid, alg}], last_refresh, last_attempt (unix
  // seconds, null before the first), last_error (null after a success)}.
  boost::json::object status_json() const;

 private:
  static boost::asio::awaitable<void> loop(std::weak_ptr<JwksKeySet> weak);
  boost::asio::awaitable<bool> fetch_once();

  boost::asio::io_context* control_;
  Options options_;
  std::atomic<std::shared_ptr<const PublishedKeys>> keys_;
  std::uint64_t generation_ = 0;  // control thread
  std::atomic<bool> refreshing_{false};
  std::atomic<std::uint64_t> attempts_{0};
  std::atomic<std::int64_t> last_early_ms_{-1000000000};  // steady clock, ms
  std::int64_t last_refresh_unix_ = 0, last_attempt_unix_ = 0;  // control thread; 0: never
  std::string last_error_;                                      // control thread
  // The loop's timer (owned by the loop's frame, so that the set can be destroyed on any
  // thread); control thread only.
  std::weak_ptr<boost::asio::steady_timer> wake_;
};

}  // namespace portico::plugins::jwt
