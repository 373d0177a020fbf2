// The gateway process: workers, the control thread (signals, reloads, admin API) and
// the current configuration snapshot.
//
// Threading: start()/run() are called from the main thread, which becomes the control
// thread. Workers run on their own threads. reload()/request_shutdown() are safe from
// any thread (they post to the control io_context).
#pragma once

#include <atomic>
#include <functional>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "config/snapshot.hpp"
#include "core/deadline.hpp"
#include "core/reaper.hpp"
#include "core/worker.hpp"
#include "net/connections_per_address.hpp"
#include "net/ocsp_stapler.hpp"
#include "proxy/health_checker.hpp"
#include "proxy/options.hpp"
#include "store/pg_store.hpp"
#include "store/store.hpp"

namespace portico {

namespace admin {
class AdminServer;
class EntityApi;
}
namespace cluster {
struct ClusterOptions;
class ControlPlane;
class DataPlane;
}

using GatewayTotals = obs::StatsTotals;

class Gateway {
 public:
  // With a `config_path`, the configuration is that declarative file (Kong's DB-less mode);
  // without one, it is the embedded store in `data_dir` (created when missing), managed
  // through the Admin API.
  Gateway(proxy::ProxyOptions options, std::string config_path, bool handle_signals, std::string data_dir = "");
  ~Gateway();

  // Before start(), instead of the embedded store: entities in PostgreSQL, shared with the
  // other nodes on the same database (store/pg_store.hpp).
  void use_postgres(store::PgOptions options) { postgres_ = std::move(options); }
  // Before start(): hybrid mode (cluster/, docs/cluster.md). A control plane (on a store)
  // sends its configuration to data planes; a data plane (no store, no Admin API) runs what
  // its control plane sends, and keeps the last one in `data_dir`.
  void use_cluster(const cluster::ClusterOptions& options);

  // Loads the configuration, binds every listener and starts the workers. On failure
  // returns false with the reasons in `errors` (nothing is left running).
  bool start(std::vector<std::string>& errors);
  // Runs the control loop until shutdown has finished. Returns the process exit code.
  int run();

  // Re-reads the configuration file; the old snapshot keeps serving when it is invalid.
  // Runs on the control thread; returns the errors (empty on success).
  std::vector<std::string> reload();
  void request_reload();
  // Takes a validated configuration live: names it introduces are resolved first (the
  // current snapshot serves meanwhile), then every worker gets the new snapshot. A later
  // call supersedes an earlier one still waiting for DNS. Control thread only.
  // The configuration is shared with the snapshot built from it (never copied).
  // `activated`, when given, is told the outcome once the configuration was tried: "" when it
  // is live, else why it is not (not called when a later change superseded it first).
  using Activated = std::function<void(const std::string& error)>;
  void stage(std::shared_ptr<const config::DeclarativeConfig> config, const std::string& why, Activated activated = {});
  void stage(config::DeclarativeConfig config, const std::string& why, Activated activated = {}) {
    stage(std::make_shared<const config::DeclarativeConfig>(std::move(config)), why, std::move(activated));
  }
  void request_shutdown();
  // Runs `fn` on the control thread (thread-safe).
  void post_to_control(std::function<void()> fn);

  // Bound ports (useful with port 0). Valid after start().
  const std::vector<int>& proxy_ports() const { return proxy_ports_; }
  int status_port() const;
  int admin_port() const;

  // --- for the admin API, on the control thread ---
  GatewayTotals totals() const;
  const std::shared_ptr<const config::Snapshot>& snapshot() const { return snapshot_; }
  const proxy::ProxyOptions& options() const { return options_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& node_id() const { return node_id_; }
  // "off" (a declarative file), "sqlite" or "postgres".
  std::string database_kind() const;
  // Whether the store answered last time (always for the file and SQLite).
  bool database_reachable() const;
  // The store revision the running configuration was read at (0 without a store).
  std::int64_t store_revision() const;
  // Configurations activated (start, reloads, Admin API writes, DNS changes) and refused
  // (an invalid file on reload, a failed build); when the running one was activated (Unix s).
  std::uint64_t config_activations() const { return config_activations_; }
  std::uint64_t config_rejections() const { return config_rejections_; }
  double last_activation_unix() const { return last_activation_unix_; }
  // Kong's readiness: a configuration serves (a data plane: one came from the control plane,
  // now or kept from before).
  bool ready() const;
  cluster::ControlPlane* control_plane() const { return control_plane_.get(); }
  cluster::DataPlane* data_plane() const { return data_plane_.get(); }
  store::PgStore* pg_store() const { return pg_; }  // with --database postgres://...

 private:
  bool bind_listeners(std::vector<std::string>& errors);
  // The certificate of the ssl listeners: --ssl-cert / --ssl-cert-key, else a self-signed one.
  std::shared_ptr<const net::TlsServerContext> node_tls_context(std::string& error) const;
  // The first configuration: the file, or the store's rows (kept in `contents` for the Admin API).
  bool load_initial(config::LoadResult& loaded, store::Contents& contents, std::vector<std::string>& errors);
  // Builds a snapshot of `config` and hands it to the workers and the health checker.
  // "" when the snapshot is live, else why not (the previous one keeps serving).
  std::string activate(std::shared_ptr<const config::DeclarativeConfig> config, const std::string& why);
  // Re-resolves host names whose TTL expired; rebuilds the snapshot when addresses change.
  void watch_dns();
  config::HostLookup host_lookup() const;
  void watch_signals();
  void begin_shutdown();
  void poll_drained();

  proxy::ProxyOptions options_;
  std::string config_path_;
  bool handle_signals_;
  std::string data_dir_;
  std::shared_ptr<obs::AccessLogSink> access_sink_;  // null with --access-log off; SIGUSR1 reopens it
  std::string node_id_;
  DeadlineQueue control_deadlines_;  // before control_: admin sessions hold Deadlines in it
  boost::asio::io_context control_{1};
  DeadlineDriver control_deadline_driver_{control_, control_deadlines_};
  std::unique_ptr<boost::asio::signal_set> signals_;
  boost::asio::steady_timer drain_timer_{control_};
  std::chrono::steady_clock::time_point drain_deadline_;
  // Open connections per client address (--max-connections-per-client), shared by the workers
  // (declared before them: their connections give back their count when destroyed).
  std::unique_ptr<net::ConnectionsPerAddress> connections_per_client_;
  std::vector<std::unique_ptr<Worker>> workers_;
  // After control_ (destroyed before it: the PostgreSQL store's sockets are control_'s) and
  // before admin_ (which shares entities_).
  std::optional<store::PgOptions> postgres_;
  std::unique_ptr<store::Store> store_;  // null in DB-less mode
  store::PgStore* pg_ = nullptr;         // store_, when it is PostgreSQL
  std::shared_ptr<admin::EntityApi> entities_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::unique_ptr<admin::AdminServer> status_;  // --status-listen
  proxy::SharedStateRegistry shared_state_;  // before snapshot_: snapshots point into it
  Reaper reaper_;  // after shared_state_ and before the snapshots: it frees snapshots, which point into it
  std::shared_ptr<const config::Snapshot> snapshot_;
  std::vector<std::shared_ptr<const config::Snapshot>> retired_;  // replaced, handed to reaper_ at the next tick
  std::uint64_t generation_ = 0;
  std::uint64_t config_activations_ = 0, config_rejections_ = 0;  // control thread only
  double last_activation_unix_ = 0;
  void note_activation();
  std::uint64_t reload_sequence_ = 0;  // the latest reload() wins (see reload())
  proxy::ActiveHealthChecker health_checker_{control_};
  std::unique_ptr<net::DnsCache> dns_;
  boost::asio::steady_timer dns_timer_{control_};
  net::OcspStapler stapler_{control_};  // --ssl-stapling
  void staple(const std::shared_ptr<const config::Snapshot>& snapshot);
  std::vector<int> proxy_ports_;
  bool shutting_down_ = false;
  // Hybrid mode (after control_: their sockets are control_'s).
  std::unique_ptr<cluster::ClusterOptions> cluster_options_;
  std::shared_ptr<cluster::ControlPlane> control_plane_;
  std::shared_ptr<cluster::DataPlane> data_plane_;
  // The hybrid role's start: the data plane's link before the first configuration, the control
  // plane's listener after it.
  bool prepare_cluster(std::vector<std::string>& errors);
  bool start_cluster(std::vector<std::string>& errors);
};

}  // namespace portico
