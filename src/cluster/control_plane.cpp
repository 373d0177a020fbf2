#include "cluster/control_plane.hpp"

#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "cluster/channel.hpp"
#include "cluster/versions.hpp"
#include "cluster/watchdog.hpp"
#include "config/export.hpp"
#include "core/listen_spec.hpp"
#include "http/gzip.hpp"

namespace portico::cluster {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::ip::tcp;

namespace {

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr int kMaxHandshaking = 256;  // connections not yet through TLS and hello
constexpr std::size_t kMaxSmallFrame = 1024 * 1024;  // a hello or a ping
constexpr std::int64_t kPurgeDelay = 14 * 24 * 3600;  // Kong's cluster_data_plane_purge_delay


std::string text_field(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::int64_t certificate_expiry(SSL* ssl) {
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (peer == nullptr) return 0;
  std::tm tm{};
  std::int64_t out = ASN1_TIME_to_tm(X509_get0_notAfter(peer), &tm) == 1 ? static_cast<std::int64_t>(timegm(&tm)) : 0;
  X509_free(peer);
  return out;
}

}  // namespace

// One connected data plane: its socket, and what its writer has to send.
struct ControlPlane::Session {
  Session(tcp::socket socket, asio::ssl::context& context)
      : stream(std::move(socket), context), wake(stream.get_executor()), watchdog(stream.get_executor()) {
    wake.expires_at(asio::steady_timer::time_point::max());
  }
  void notify() { wake.cancel(); }
  void close() {
    closed = true;
    boost::system::error_code ignored;
    stream.lowest_layer().close(ignored);
    notify();
  }
  TlsSocket stream;
  asio::steady_timer wake;  // never expires: cancelled to wake the writer
  Watchdog watchdog;  // closes it when silent (each read arms it)
  std::string id;
  std::string sent_hash;  // the configuration it was sent (or refused)
  bool pong_due = false;
  bool closed = false;
};

ControlPlane::ControlPlane(asio::io_context& io, ClusterOptions options, ClusterTls tls)
    : io_(io), options_(std::move(options)), tls_(std::move(tls)), context_(server_context(tls_)), acceptor_(io) {}

ControlPlane::~ControlPlane() = default;

bool ControlPlane::start(std::string& error) {
  tcp::endpoint endpoint;
  if (!parse_listen(options_.listen, endpoint, error)) {
    error = "--cluster-listen: " + error;
    return false;
  }
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "--cluster-listen " + options_.listen + ": " + ec.message();
    return false;
  }
  asio::co_spawn(io_, accept_loop(), asio::detached);
  spdlog::info("cluster: control plane listening for data planes on {} (mTLS {})", options_.listen,
               tls_.pki ? "pki" : "shared");
  return true;
}

void ControlPlane::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (auto& weak : sessions_) {
    if (auto s = weak.lock()) s->close();
  }
}

int ControlPlane::port() const {
  boost::system::error_code ec;
  auto ep = acceptor_.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::size_t ControlPlane::connected() const {
  return static_cast<std::size_t>(std::count_if(records_.begin(), records_.end(), [](const auto& r) { return r.second.connected; }));
}

void ControlPlane::publish(const config::DeclarativeConfig& config) {
  if (config.hash == payload_hash_) return;  // a rebuild of the same configuration (DNS)
  json::object message{{"config_hash", config.hash}, {"config", config::declarative_json(config)}};
  auto gzipped = std::make_shared<std::string>();
  http::gzip(json::serialize(message), *gzipped);
  if (gzipped->size() > options_.max_payload) {
    spdlog::error("cluster: configuration {} is {} bytes gzipped, over --cluster-max-payload ({}): data planes keep the "
                  "previous one",
                  config.hash, gzipped->size(), options_.max_payload);
    return;
  }
  std::set<std::string> plugins;
  for (const auto& p : config.plugins) plugins.insert(p.name);
  payload_ = std::move(gzipped);
  payload_hash_ = config.hash;
  payload_plugins_.assign(plugins.begin(), plugins.end());
  std::erase_if(sessions_, [](const auto& weak) { return weak.expired(); });
  for (auto& weak : sessions_) {
    if (auto s = weak.lock()) s->notify();
  }
}

std::string ControlPlane::missing_plugin(const Record& record) const {
  for (const auto& name : payload_plugins_) {
    if (std::find(record.plugins.begin(), record.plugins.end(), name) == record.plugins.end()) return name;
  }
  return {};
}

asio::awaitable<void> ControlPlane::accept_loop() {
  auto self = shared_from_this();
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {  // out of descriptors, say: pause rather than spin the control thread
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> ControlPlane::serve(tcp::socket socket) {
  auto self = shared_from_this();
  boost::system::error_code ec;
  std::string ip = socket.remote_endpoint(ec).address().to_string();
  auto session = std::make_shared<Session>(std::move(socket), context_);
  Record* record = nullptr;
  if (++handshaking_ > kMaxHandshaking) {  // a flood of connections that do not authenticate
    --handshaking_;
    co_return;
  }
  bool counted = true;
  auto handshake_done = [&] {
    if (counted) --handshaking_;
    counted = false;
  };
  try {
    session->watchdog.arm(session, kHandshakeTimeout);
    co_await session->stream.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
    std::string refused = peer_problem(session->stream.native_handle(), tls_);
    if (!refused.empty()) throw std::runtime_error("refused: " + refused);
    Frame hello = co_await read_frame(session->stream, kMaxSmallFrame);
    handshake_done();
    json::error_code jec;
    json::value parsed = json::parse(hello.payload, jec);
    if (hello.type != frame::hello || jec || !parsed.is_object() || text_field(parsed.as_object(), "node_id").empty()) {
      throw std::runtime_error("refused: its first message is not a hello with a node_id");
    }
    const json::object& info = parsed.as_object();
    std::string id = text_field(info, "node_id");
    record = &records_[id];
    if (auto previous = record->owner.lock()) {  // the same data plane again: its old connection is stale
      previous->close();
    }
    session->id = id;
    record->owner = session;
    record->id = session->id;
    record->ip = ip;
    record->hostname = text_field(info, "hostname");
    record->version = text_field(info, "version");
    record->config_hash = text_field(info, "config_hash");
    record->plugins.clear();
    if (const auto* p = info.if_contains("plugins"); p != nullptr && p->is_array()) {
      for (const auto& name : p->as_array()) {
        if (name.is_string()) record->plugins.emplace_back(name.as_string());
      }
    }
    record->last_seen = unix_now();
    record->cert_expiry = certificate_expiry(session->stream.native_handle());
    std::string incompatible = version_problem(record->version, PORTICO_VERSION);
    if (!incompatible.empty()) {
      record->sync_status = "kong_version_incompatible";  // Kong's name for it
      spdlog::warn("cluster: data plane {} ({}) refused: {}", record->id, ip, incompatible);
      std::string message = json::serialize(json::object{{"message", incompatible}});
      co_await write_frame(session->stream, frame::error, message);
      throw std::runtime_error("refused: " + incompatible);
    }
    record->sync_status = "normal";
    record->connected = true;
    sessions_.push_back(session);
    spdlog::info("cluster: data plane {} ({}, {}) connected", record->id, record->hostname, ip);
    asio::co_spawn(io_, write_loop(session), asio::detached);
    for (;;) {
      session->watchdog.arm(session, kPingWait);
      Frame f = co_await read_frame(session->stream, kMaxSmallFrame);
      if (f.type != frame::ping) throw std::runtime_error("unexpected frame from the data plane");
      json::value ping = json::parse(f.payload, jec);
      if (jec || !ping.is_object()) throw std::runtime_error("malformed ping from the data plane");
      record = &records_[session->id];  // (the map may have been purged meanwhile: node-based, stays valid)
      record->config_hash = text_field(ping.as_object(), "config_hash");
      record->config_error = text_field(ping.as_object(), "config_error");
      record->last_seen = unix_now();
      session->pong_due = true;
      session->notify();
    }
  } catch (const std::exception& e) {
    std::string_view what = e.what();
    if (what.starts_with("refused: ")) {
      spdlog::warn("cluster: refused a data plane at {}: {}", ip, what.substr(9));
    } else if (!session->id.empty()) {
      spdlog::info("cluster: data plane {} ({}) disconnected: {}", session->id, ip, what);
    }
  }
  handshake_done();
  session->close();
  session->watchdog.cancel();
  if (!session->id.empty()) {
    auto it = records_.find(session->id);
    // (A newer connection of the same data plane owns the row now: it stays connected.)
    if (it != records_.end() && it->second.owner.lock() == session) it->second.connected = false;
  }
  forget_stale();
}

asio::awaitable<void> ControlPlane::write_loop(std::shared_ptr<Session> session) {
  auto self = shared_from_this();
  try {
    while (!session->closed) {
      if (payload_ && session->sent_hash != payload_hash_) {
        auto payload = payload_;  // this one, even if a newer one comes while it is written
        std::string hash = payload_hash_;
        Record& record = records_[session->id];
        std::string missing = missing_plugin(record);
        session->sent_hash = hash;
        if (!missing.empty()) {
          record.sync_status = "plugin_set_incompatible";
          spdlog::warn("cluster: configuration {} not sent to data plane {}: configured {} plugin is missing from data plane",
                       hash, session->id, missing);
        } else if (record.config_hash != hash) {
          record.sync_status = "normal";
          co_await write_frame(session->stream, frame::config, *payload);
        }
        continue;
      }
      if (session->pong_due) {
        session->pong_due = false;
        co_await write_frame(session->stream, frame::pong, "");
        continue;
      }
      auto [ec] = co_await session->wake.async_wait(asio::as_tuple(asio::use_awaitable));
      (void)ec;
      session->wake.expires_at(asio::steady_timer::time_point::max());
    }
  } catch (const std::exception&) {
    boost::system::error_code ignored;
    session->stream.lowest_layer().close(ignored);  // the reader sees it and cleans up
  }
}

void ControlPlane::forget_stale() {
  std::int64_t now = unix_now();
  std::erase_if(records_, [now](const auto& r) { return !r.second.connected && now - r.second.last_seen > kPurgeDelay; });
  std::erase_if(sessions_, [](const auto& weak) { return weak.expired(); });
}

json::object ControlPlane::data_planes_json(std::size_t size, const std::string& offset) const {
  json::array data;
  std::int64_t now = unix_now();
  auto it = offset.empty() ? records_.begin() : records_.upper_bound(offset);
  for (; it != records_.end() && data.size() < size; ++it) {
    const Record& r = it->second;
    if (!r.connected && now - r.last_seen > kPurgeDelay) continue;  // purged at the next disconnect
    data.push_back(json::object{
        {"id", r.id},
        {"ip", r.ip},
        {"hostname", r.hostname},
        {"version", r.version},
        {"sync_status", r.sync_status},
        {"config_hash", r.config_hash},
        {"last_seen", r.last_seen},
        {"updated_at", r.last_seen},
        {"ttl", std::max<std::int64_t>(0, kPurgeDelay - (now - r.last_seen))},
        {"labels", nullptr},
        {"cert_details", json::object{{"expiry_timestamp", r.cert_expiry}}},
        {"rpc_capabilities", json::array{}},
        // Portico's: whether it is connected now, and why it refused the last configuration.
        {"connected", r.connected},
        {"config_error", r.config_error.empty() ? json::value(nullptr) : json::value(r.config_error)},
    });
  }
  json::object page{{"data", std::move(data)}};
  if (it != records_.end()) {
    std::string last = page["data"].as_array().back().as_object().at("id").as_string().c_str();
    page["offset"] = last;
    page["next"] = "/clustering/data-planes?offset=" + last;
  } else {
    page["next"] = nullptr;
  }
  return page;
}

}  // namespace portico::cluster
