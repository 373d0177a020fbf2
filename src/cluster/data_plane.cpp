#include "cluster/data_plane.hpp"
#include "core/system_info.hpp"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "cluster/channel.hpp"
#include "cluster/watchdog.hpp"
#include "config/loader.hpp"
#include "http/gzip.hpp"
#include "plugin/registry.hpp"

namespace portico::cluster {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::ip::tcp;

namespace {

constexpr auto kConnectTimeout = std::chrono::seconds(5);


// The configuration message ({"config_hash", "config"}) read: the hash and the configuration
// loaded, or why not.
struct Received {
  std::string hash;
  std::optional<config::DeclarativeConfig> config;
  std::string error;
};

Received load_message(const std::string& message, const std::string& source) {
  Received out;
  json::error_code ec;
  json::value parsed = json::parse(message, ec);
  const json::object* o = !ec && parsed.is_object() ? &parsed.as_object() : nullptr;
  const json::value* hash = o != nullptr ? o->if_contains("config_hash") : nullptr;
  const json::value* config = o != nullptr ? o->if_contains("config") : nullptr;
  if (hash == nullptr || !hash->is_string() || config == nullptr || !config->is_object()) {
    out.error = "not a configuration message";
    return out;
  }
  out.hash = hash->as_string();
  auto loaded = config::load_declarative_text(json::serialize(*config), source);
  if (!loaded.ok()) {
    out.error = loaded.errors.front().to_string();
    if (loaded.errors.size() > 1) out.error += " (and " + std::to_string(loaded.errors.size() - 1) + " more)";
    return out;
  }
  out.config = std::move(loaded.config);
  out.config->hash = out.hash;  // what /status shows is the control plane's name for it
  return out;
}

}  // namespace

// The connection of one session: the stream, the pinger's wake-up, the silence watchdog.
struct Link {
  Link(asio::io_context& io, asio::ssl::context& context) : stream(io, context), wake(io), watchdog(io.get_executor()) {
    wake.expires_at(asio::steady_timer::time_point::max());
  }
  // After each step of the connection: a watchdog that fired closed the socket, and a step
  // that does not use it (the name's resolution) would not notice.
  void check_open() const {
    if (closed) throw std::runtime_error("timed out");
  }
  TlsSocket stream;
  asio::steady_timer wake;  // cancelled to ping at once (a configuration was taken)
  Watchdog watchdog;  // closes it when silent (each step and read arms it)
  bool ping_due = false;
  bool closed = false;
  void close() {
    closed = true;
    boost::system::error_code ignored;
    stream.lowest_layer().close(ignored);
    wake.cancel();
  }
};

std::string persistent_node_id(const std::string& data_dir, const std::string& fresh) {
  std::string path = data_dir + "/node_id";
  std::ifstream in(path);
  std::string id;
  if (in && std::getline(in, id) && id.size() >= 8) return id;
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  std::ofstream out(path, std::ios::trunc);
  out << fresh << "\n";
  if (!out) spdlog::warn("cluster: could not keep the node id in {}: each start is a new data plane", path);
  return fresh;
}

DataPlane::DataPlane(asio::io_context& io, ClusterOptions options, ClusterTls tls, std::string data_dir, std::string node_id,
                     Apply apply)
    : io_(io),
      options_(std::move(options)),
      tls_(std::move(tls)),
      context_(client_context(tls_)),
      data_dir_(std::move(data_dir)),
      node_id_(std::move(node_id)),
      apply_(std::move(apply)),
      retry_(io) {}

std::string DataPlane::persisted_path() const { return data_dir_ + "/cluster-config.json"; }

std::optional<config::DeclarativeConfig> DataPlane::load_persisted() {
  std::ifstream in(persisted_path(), std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  Received r = load_message(text.str(), persisted_path());
  if (!r.config) {
    spdlog::warn("cluster: the configuration kept in {} could not be loaded ({}); waiting for the control plane",
                 persisted_path(), r.error);
    return std::nullopt;
  }
  config_hash_ = r.hash;
  spdlog::info("cluster: serving configuration {} kept from the last run ({}) until the control plane answers", r.hash,
               persisted_path());
  return std::move(r.config);
}

void DataPlane::persist(const std::string& message) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir_, ec);
  std::string temporary = persisted_path() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << message;
    out.flush();
    if (!out) {
      spdlog::warn("cluster: could not keep the configuration in {}", persisted_path());
      return;
    }
  }
  if (FILE* f = std::fopen(temporary.c_str(), "rb")) {  // on disk before it replaces the last one
    ::fsync(fileno(f));
    std::fclose(f);
  }
  std::filesystem::rename(temporary, persisted_path(), ec);
  if (ec) spdlog::warn("cluster: could not keep the configuration in {}: {}", persisted_path(), ec.message());
}

void DataPlane::start() { asio::co_spawn(io_, run(), asio::detached); }

void DataPlane::stop() {
  stopping_ = true;
  retry_.cancel();
  if (link_) link_->close();
}

json::object DataPlane::status_json() const {
  return json::object{{"role", "data_plane"},
                      {"control_plane", options_.control_plane},
                      {"connected", connected_},
                      {"config_hash", config_hash_.empty() ? json::value(nullptr) : json::value(config_hash_)},
                      {"config_received_at", received_at_ == 0 ? json::value(nullptr) : json::value(received_at_)},
                      {"config_error", config_error_.empty() ? json::value(nullptr) : json::value(config_error_)}};
}

asio::awaitable<void> DataPlane::run() {
  auto self = shared_from_this();
  std::mt19937 random(std::random_device{}());
  auto backoff = std::chrono::milliseconds(1000);
  while (!stopping_) {
    auto started = std::chrono::steady_clock::now();
    co_await session();
    if (stopping_) break;
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(30)) backoff = std::chrono::milliseconds(1000);
    // 1 s doubling to 10 s, each +-25 %: data planes that lost a control plane together do
    // not all come back in the same instant.
    auto wait = std::chrono::milliseconds(std::uniform_int_distribution<long>(backoff.count() * 3 / 4, backoff.count() * 5 / 4)(random));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
    retry_.expires_after(wait);
    auto [ec] = co_await retry_.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
  }
}

asio::awaitable<void> DataPlane::session() {
  auto link = std::make_shared<Link>(io_, context_);
  link_ = link;
  std::string where = options_.control_plane;
  try {
    std::string host = where.substr(0, where.rfind(':')), port = where.substr(where.rfind(':') + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    tcp::resolver resolver(io_);
    link->watchdog.arm(link, kConnectTimeout);
    auto endpoints = co_await resolver.async_resolve(host, port, asio::use_awaitable);
    link->check_open();
    co_await asio::async_connect(link->stream.lowest_layer(), endpoints, asio::use_awaitable);
    link->check_open();
    if (tls_.pki) SSL_set_tlsext_host_name(link->stream.native_handle(), tls_.server_name.c_str());
    co_await link->stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    link->check_open();
    std::string refused = peer_problem(link->stream.native_handle(), tls_);
    if (!refused.empty()) throw std::runtime_error("the control plane was refused: " + refused);
    json::array plugins;
    for (const auto* schema : plugin::all_schemas()) plugins.emplace_back(schema->name);
    std::string hello = json::serialize(json::object{{"node_id", node_id_},
                                                     {"hostname", host_name()},
                                                     {"version", PORTICO_VERSION},
                                                     {"plugins", std::move(plugins)},
                                                     {"config_hash", config_hash_}});
    co_await write_frame(link->stream, frame::hello, hello);
    asio::co_spawn(io_, ping_loop(link), asio::detached);  // its first ping is answered at once
    for (;;) {
      link->watchdog.arm(link, kPingWait);
      Frame f = co_await read_frame(link->stream, options_.max_payload);
      // Connected once the control plane answers (with TLS 1.3 it checks this side's
      // certificate after the handshake completed here).
      if (!connected_ && f.type != frame::error) {
        connected_ = true;
        spdlog::info("cluster: connected to the control plane {}", where);
      }
      if (f.type == frame::config) {
        receive(f.payload);
      } else if (f.type == frame::error) {
        throw std::runtime_error("the control plane refused this data plane: " + f.payload);
      } else if (f.type != frame::pong) {
        throw std::runtime_error("unexpected frame from the control plane");
      }
    }
  } catch (const std::exception& e) {
    if (!stopping_) {
      spdlog::warn("cluster: {} control plane {}: {}", connected_ ? "lost the" : "could not reach the", where, e.what());
    }
  }
  connected_ = false;
  link->watchdog.cancel();
  link->close();
}

asio::awaitable<void> DataPlane::ping_loop(std::shared_ptr<Link> link) {
  auto self = shared_from_this();
  try {
    while (!link->closed) {
      link->ping_due = false;
      std::string ping = json::serialize(
          json::object{{"config_hash", config_hash_},
                       {"config_error", config_error_.empty() ? json::value(nullptr) : json::value(config_error_)}});
      co_await write_frame(link->stream, frame::ping, ping);
      if (link->ping_due) continue;
      link->wake.expires_after(kPingInterval);
      auto [ec] = co_await link->wake.async_wait(asio::as_tuple(asio::use_awaitable));
      (void)ec;
    }
  } catch (const std::exception&) {
    link->close();
  }
}

void DataPlane::receive(const std::string& gzipped) {
  std::string message;
  auto inflated = http::gunzip(gzipped, message, options_.max_payload * 32);
  if (inflated != http::GunzipResult::ok) {
    config_error_ = inflated == http::GunzipResult::too_large
                        ? "the configuration is larger than 32 x --cluster-max-payload once inflated"
                        : "the configuration message is not valid gzip";
    spdlog::error("cluster: {}", config_error_);
    return;
  }
  Received r = load_message(message, "control plane configuration");
  if (!r.config) {
    config_error_ = r.error;
    spdlog::error("cluster: configuration {} from the control plane refused, the previous one keeps serving: {}", r.hash,
                  r.error);
    return;
  }
  if (r.hash == config_hash_) {  // already running (kept from the last run)
    config_error_.clear();
    return;
  }
  // Only a configuration that went live is reported, counted as received and kept.
  apply_(std::move(*r.config), [weak = weak_from_this(), hash = r.hash, message = std::move(message)](const std::string& error) {
    auto self = weak.lock();
    if (!self) return;
    if (!error.empty()) {
      self->config_error_ = error;
    } else {
      self->config_error_.clear();
      self->config_hash_ = hash;
      self->received_at_ = unix_now();
      self->persist(message);
    }
    if (self->link_) {  // ping now: the control plane sees the outcome at once
      self->link_->ping_due = true;
      self->link_->wake.cancel();
    }
  });
}

}  // namespace portico::cluster
