// Hybrid mode, the data plane's side: keeps one mutual-TLS connection to the control plane
// (reconnecting with backoff), loads every configuration it sends as POST /config would, keeps
// the last one in the data directory (a restarted data plane serves it before the control
// plane answers, or if it never does), and pings with the configuration it runs. Runs on the
// control thread; holds no database credentials.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cluster/cluster_options.hpp"
#include "config/model.hpp"

namespace portico::cluster {

// The node's id kept in `data_dir` (a file named node_id), `fresh` the first time: a
// restarted data plane is the same data plane to its control plane (Kong's kong.id).
std::string persistent_node_id(const std::string& data_dir, const std::string& fresh);

class DataPlane : public std::enable_shared_from_this<DataPlane> {
 public:
  // Takes a configuration live (Gateway::stage), then tells `activated` "" or why it could not.
  using Activated = std::function<void(const std::string& error)>;
  using Apply = std::function<void(config::DeclarativeConfig config, Activated activated)>;

  DataPlane(boost::asio::io_context& io, ClusterOptions options, ClusterTls tls, std::string data_dir, std::string node_id,
            Apply apply);

  // The configuration kept from the last run, loaded (nullopt: none, or unreadable: logged).
  std::optional<config::DeclarativeConfig> load_persisted();
  void start();
  void stop();

  // Whether a configuration from the control plane (now or kept from before) is running.
  bool has_configuration() const { return !config_hash_.empty(); }
  // The kept configuration could not be taken live: run none until the control plane sends one.
  void forget_configuration() { config_hash_.clear(); }
  // For /status: the control plane, whether connected, the configuration's hash and when it came.
  boost::json::object status_json() const;

 private:
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> session();
  boost::asio::awaitable<void> ping_loop(std::shared_ptr<struct Link> link);
  // A config frame: loaded and taken live, or refused (config_error_); then persisted.
  void receive(const std::string& gzipped);
  void persist(const std::string& message);
  std::string persisted_path() const;

  boost::asio::io_context& io_;
  ClusterOptions options_;
  ClusterTls tls_;
  boost::asio::ssl::context context_;
  std::string data_dir_, node_id_;
  Apply apply_;
  std::string config_hash_;   // the control plane's hash of what runs
  std::string config_error_;  // why the last configuration sent was refused ("" when it was not)
  std::int64_t received_at_ = 0;
  bool connected_ = false;
  bool stopping_ = false;
  std::shared_ptr<struct Link> link_;
  boost::asio::steady_timer retry_;
};

}  // namespace portico::cluster
