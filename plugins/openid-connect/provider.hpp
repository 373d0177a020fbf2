// A provider as the plugin's workers see it: its endpoints (discovery document, or the
// configuration's for plain OAuth 2.0 providers), their hosts' addresses, and its signing keys
// (the jwt plugin's JwksKeySet on the discovered jwks_uri). Fetched and resolved on the control
// thread: at start, again after a failure (1 s doubling to 60 s), and every hour; workers read
// the last good state through an atomic pointer. Shared by every plugin entry naming the same issuer and
// endpoints, and kept across reloads (SharedStateRegistry).
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <map>
#include <vector>
#include <memory>
#include <string>

#include "plugins/jwt/jwks.hpp"
#include "plugins/openid-connect/discovery.hpp"

namespace portico::plugins::openid_connect {

struct ProviderState {
  ProviderMetadata metadata;
  std::shared_ptr<jwt::JwksKeySet> keys;  // null without a jwks_uri (plain OAuth 2.0)
  // The addresses of the endpoints workers call (token, user info, introspection), resolved
  // on the control thread ("host:port" -> addresses): a worker's loop cannot resolve names.
  std::map<std::string, std::vector<boost::asio::ip::tcp::endpoint>> addresses;
  // The addresses for `url`'s host (empty when unknown: the call then fails with a clear error).
  std::vector<boost::asio::ip::tcp::endpoint> addresses_of(const std::string& url) const;
};

// "host:port" of an http(s) URL (the scheme's port when none is written), or "".
std::string host_port_of(const std::string& url);

class Provider : public std::enable_shared_from_this<Provider> {
 public:
  struct Options {
    std::string issuer;                 // as configured (discovery URL or identifier)
    bool discover = true;               // false: Kong's using_pseudo_issuer
    ProviderMetadata configured;        // endpoints written in the configuration (override discovery's)
    std::chrono::milliseconds timeout{10000};
  };
  // `control` null (unit tests): start() does nothing.
  Provider(boost::asio::io_context* control, Options options);
  void start();

  // --- any thread
  // The last good state; null until the first discovery succeeded.
  std::shared_ptr<const ProviderState> state() const { return state_.load(std::memory_order_acquire); }
  // Why the last attempt failed ("" after a success), for the 503 a request gets meanwhile.
  std::string last_error() const;
  const Options& options() const { return options_; }
  // Makes the state from `metadata` and the resolved `addresses` (control thread).
  void publish(ProviderMetadata metadata, std::map<std::string, std::vector<boost::asio::ip::tcp::endpoint>> addresses);

 private:
  static boost::asio::awaitable<void> loop(std::weak_ptr<Provider> weak);
  boost::asio::awaitable<bool> discover_once();
  // Resolves the hosts of the endpoints workers call.
  boost::asio::awaitable<std::map<std::string, std::vector<boost::asio::ip::tcp::endpoint>>> resolve(
      const ProviderMetadata& metadata);

  boost::asio::io_context* control_;
  Options options_;
  std::atomic<std::shared_ptr<const ProviderState>> state_;
  mutable std::atomic<std::shared_ptr<const std::string>> error_;
};

// The configuration's endpoints laid over the discovered ones (a configured one wins, as in Kong).
ProviderMetadata overlay(ProviderMetadata discovered, const ProviderMetadata& configured);

}  // namespace portico::plugins::openid_connect
