// Hybrid mode, the control plane's side: listens on cluster_listen for data planes (mutual
// TLS, cluster_options.hpp), sends each the whole running configuration when it connects and
// whenever it changes, answers their pings, and keeps what they report for
// GET /clustering/data-planes. Runs on the control thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/cluster_options.hpp"
#include "config/model.hpp"

namespace portico::cluster {

class ControlPlane : public std::enable_shared_from_this<ControlPlane> {
 public:
  ControlPlane(boost::asio::io_context& io, ClusterOptions options, ClusterTls tls);
  ~ControlPlane();

  // Binds cluster_listen and starts accepting; false with `error`.
  bool start(std::string& error);
  void stop();
  int port() const;

  // The running configuration (at start and after every change): data planes get it unless
  // they have it already (the same hash).
  void publish(const config::DeclarativeConfig& config);

  // GET /clustering/data-planes (Kong's shape; `size` per page, `offset` from a previous
  // page's answer).
  boost::json::object data_planes_json(std::size_t size, const std::string& offset) const;
  std::size_t connected() const;

 private:
  struct Session;
  // What a data plane said about itself (Kong's clustering_data_planes row).
  struct Record {
    std::string id, ip, hostname, version;
    std::string sync_status = "unknown";
    std::string config_hash, config_error;
    std::vector<std::string> plugins;
    std::int64_t last_seen = 0, cert_expiry = 0;
    bool connected = false;
    std::weak_ptr<Session> owner;  // its latest connection
  };
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);
  boost::asio::awaitable<void> write_loop(std::shared_ptr<Session> session);
  // Whether the data plane has every plugin the configuration uses ("" when it has).
  std::string missing_plugin(const Record& record) const;
  void forget_stale();

  boost::asio::io_context& io_;
  ClusterOptions options_;
  ClusterTls tls_;
  boost::asio::ssl::context context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // The configuration as sent: gzipped JSON {"config_hash", "config"}, and what it needs.
  std::shared_ptr<const std::string> payload_;
  std::string payload_hash_;
  std::vector<std::string> payload_plugins_;
  std::map<std::string, Record> records_;  // by node id
  std::vector<std::weak_ptr<Session>> sessions_;
  int handshaking_ = 0;
};

}  // namespace portico::cluster
