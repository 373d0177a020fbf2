#include "plugins/openid-connect/provider.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <array>

#include "net/http_fetch.hpp"

namespace portico::plugins::openid_connect {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {
constexpr std::chrono::hours kRediscoverEvery{1};
constexpr std::chrono::seconds kMaxRetryWait{60};

void take_if_set(std::string& into, const std::string& configured) {
  if (!configured.empty()) into = configured;
}
}  // namespace

ProviderMetadata overlay(ProviderMetadata discovered, const ProviderMetadata& configured) {
  take_if_set(discovered.authorization_endpoint, configured.authorization_endpoint);
  take_if_set(discovered.token_endpoint, configured.token_endpoint);
  take_if_set(discovered.userinfo_endpoint, configured.userinfo_endpoint);
  take_if_set(discovered.jwks_uri, configured.jwks_uri);
  take_if_set(discovered.introspection_endpoint, configured.introspection_endpoint);
  take_if_set(discovered.end_session_endpoint, configured.end_session_endpoint);
  return discovered;
}

std::string host_port_of(const std::string& url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || parsed->host().empty()) return "";
  const bool tls = parsed->scheme() == "https";
  return std::string(parsed->encoded_host()) + ":" + (parsed->has_port() ? std::string(parsed->port()) : (tls ? "443" : "80"));
}

std::vector<asio::ip::tcp::endpoint> ProviderState::addresses_of(const std::string& url) const {
  const auto found = addresses.find(host_port_of(url));
  return found == addresses.end() ? std::vector<asio::ip::tcp::endpoint>() : found->second;
}

Provider::Provider(asio::io_context* control, Options options) : control_(control), options_(std::move(options)) {}

void Provider::start() {
  if (control_ == nullptr) return;
  asio::co_spawn(*control_, loop(weak_from_this()), asio::detached);
}

std::string Provider::last_error() const {
  auto e = error_.load(std::memory_order_acquire);
  return e ? *e : std::string();
}

void Provider::publish(ProviderMetadata metadata, std::map<std::string, std::vector<asio::ip::tcp::endpoint>> addresses) {
  auto state = std::make_shared<ProviderState>();
  // The same jwks_uri keeps its key set (and the keys it has).
  const auto previous = state_.load(std::memory_order_acquire);
  if (previous && previous->keys && previous->metadata.jwks_uri == metadata.jwks_uri) {
    state->keys = previous->keys;
  } else if (!metadata.jwks_uri.empty()) {
    jwt::JwksKeySet::Options o;
    o.uri = metadata.jwks_uri;
    o.timeout = options_.timeout;
    state->keys = std::make_shared<jwt::JwksKeySet>(control_, o);
    state->keys->start();
  }
  state->metadata = std::move(metadata);
  state->addresses = std::move(addresses);
  state_.store(std::move(state), std::memory_order_release);
  error_.store(nullptr, std::memory_order_release);
}

asio::awaitable<std::map<std::string, std::vector<asio::ip::tcp::endpoint>>> Provider::resolve(const ProviderMetadata& m) {
  std::map<std::string, std::vector<asio::ip::tcp::endpoint>> out;
  asio::ip::tcp::resolver resolver(*control_);
  // A named array, not a braced list: the loop suspends, and GCC 12 mishandles temporaries
  // that must live across a coroutine's suspension.
  const std::array<const std::string*, 3> urls{&m.token_endpoint, &m.userinfo_endpoint, &m.introspection_endpoint};
  for (const std::string* url : urls) {
    const std::string key = host_port_of(*url);
    if (key.empty() || out.count(key) != 0) continue;
    const std::size_t colon = key.rfind(':');
    std::string host = key.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);  // [::1]
    auto [ec, results] = co_await resolver.async_resolve(host, key.substr(colon + 1), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      spdlog::warn("openid-connect {}: cannot resolve {}: {}", options_.issuer, host, ec.message());
      continue;
    }
    out[key].assign(results.begin(), results.end());
  }
  co_return out;
}

asio::awaitable<bool> Provider::discover_once() {
  if (!options_.discover) {
    ProviderMetadata m = options_.configured;
    m.issuer = issuer_identifier(options_.issuer);
    auto addresses = co_await resolve(m);
    publish(std::move(m), std::move(addresses));
    co_return true;
  }
  const std::string url = discovery_url(options_.issuer);
  // (A named variable: GCC 12 destroys a braced temporary argument of a coroutine call twice.)
  net::FetchOptions fetch{options_.timeout, 1 << 20, true};
  auto result = co_await net::http_get(*control_, url, std::move(fetch));
  std::string problem;
  if (result.status == 0) problem = result.error;
  else if (result.status != 200) problem = "HTTP " + std::to_string(result.status);
  std::optional<ProviderMetadata> metadata;
  if (problem.empty()) {
    boost::system::error_code ec;
    json::value doc = json::parse(result.body, ec);
    if (ec) problem = "discovery document: not JSON";
    else metadata = parse_discovery(doc, issuer_identifier(options_.issuer), problem);
  }
  if (!metadata) {
    spdlog::warn("openid-connect {}: discovery failed: {}", url, problem);
    error_.store(std::make_shared<const std::string>(problem), std::memory_order_release);
    co_return false;
  }
  ProviderMetadata merged = overlay(std::move(*metadata), options_.configured);
  auto addresses = co_await resolve(merged);
  publish(std::move(merged), std::move(addresses));
  co_return true;
}

asio::awaitable<void> Provider::loop(std::weak_ptr<Provider> weak) {
  std::chrono::milliseconds failure_wait{1000};
  for (;;) {
    auto self = weak.lock();
    if (!self) co_return;
    const bool ok = co_await self->discover_once();
    std::chrono::milliseconds wait = kRediscoverEvery;
    if (ok) {
      failure_wait = std::chrono::milliseconds(1000);
    } else {
      wait = failure_wait;
      failure_wait = std::min<std::chrono::milliseconds>(failure_wait * 2, kMaxRetryWait);
    }
    asio::steady_timer timer(*self->control_, wait);
    self.reset();  // the wait must not keep the provider alive
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
  }
}

}  // namespace portico::plugins::openid_connect
