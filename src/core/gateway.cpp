#include "core/gateway.hpp"
#include "core/system_info.hpp"

#include "cluster/cluster_options.hpp"
#include "cluster/control_plane.hpp"
#include "cluster/data_plane.hpp"

#include "core/run_to_end.hpp"
#include "core/uuid.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <random>
#include <spdlog/spdlog.h>
#include <thread>

#include "admin/admin_server.hpp"
#include "obs/http_metrics.hpp"
#include "obs/sharded_series.hpp"
#include "admin/entity_api.hpp"
#include "store/declarative.hpp"
#include "store/sqlite_store.hpp"
#include "config/validators.hpp"
#include "core/listen_spec.hpp"
#include "net/tls.hpp"

namespace portico {

namespace asio = boost::asio;


Gateway::Gateway(proxy::ProxyOptions options, std::string config_path, bool handle_signals, std::string data_dir)
    : options_(std::move(options)), config_path_(std::move(config_path)), handle_signals_(handle_signals),
      data_dir_(std::move(data_dir)), node_id_(process_node_id()) {
  if (options_.workers <= 0) {
    options_.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
}

Gateway::~Gateway() {
  if (control_plane_) control_plane_->stop();
  if (data_plane_) data_plane_->stop();
  for (auto& w : workers_) w->stop();
  for (auto& w : workers_) w->join();
}

void Gateway::use_cluster(const cluster::ClusterOptions& options) {
  cluster_options_ = std::make_unique<cluster::ClusterOptions>(options);
}

bool Gateway::ready() const { return snapshot_ && (!data_plane_ || data_plane_->has_configuration()); }

namespace {
// What a data plane runs until its control plane sends a configuration: nothing.
config::LoadResult no_configuration_yet() {
  return config::load_declarative_text("_format_version: \"3.0\"\n", "(no configuration yet)");
}
}  // namespace

bool Gateway::prepare_cluster(std::vector<std::string>& errors) {
  if (!cluster_options_ || cluster_options_->role == cluster::Role::traditional) return true;
  std::string error;
  auto tls = cluster::load_tls(*cluster_options_, error);
  if (!tls) {
    errors.push_back(error);
    return false;
  }
  try {
    if (cluster_options_->role == cluster::Role::control_plane) {
      control_plane_ = std::make_shared<cluster::ControlPlane>(control_, *cluster_options_, std::move(*tls));
      return true;
    }
    node_id_ = cluster::persistent_node_id(data_dir_, node_id_);
    data_plane_ = std::make_shared<cluster::DataPlane>(
        control_, *cluster_options_, std::move(*tls), data_dir_, node_id_,
        [this](config::DeclarativeConfig config, Activated activated) {
          stage(std::move(config), "from the control plane", std::move(activated));
        });
  } catch (const std::exception& e) {
    errors.push_back(e.what());
    return false;
  }
  return true;
}

bool Gateway::start_cluster(std::vector<std::string>& errors) {
  if (control_plane_) {
    std::string error;
    if (!control_plane_->start(error)) {
      errors.push_back(error);
      return false;
    }
    control_plane_->publish(snapshot_->config);
  }
  if (data_plane_) data_plane_->start();
  return true;
}


config::HostLookup Gateway::host_lookup() const {
  return [this](const std::string& host) { return dns_->lookup(host); };
}

bool Gateway::load_initial(config::LoadResult& loaded, store::Contents& contents, std::vector<std::string>& errors) {
  if (data_plane_) {  // the last configuration the control plane sent, or none yet
    auto kept = data_plane_->load_persisted();
    if (kept) {
      loaded.config = std::move(*kept);
      return true;
    }
    loaded = no_configuration_yet();
    return loaded.ok();
  }
  if (!config_path_.empty()) {
    loaded = config::load_declarative_file(config_path_);
    for (const auto& e : loaded.errors) errors.push_back(e.to_string());
    return loaded.ok();
  }
  std::string where;
  if (postgres_) {
    where = "--database (PostgreSQL " + postgres_->description + ")";
    auto opened = run_to_end(control_, store::PgStore::open(control_, *postgres_));
    if (!opened || !opened->ok()) {
      errors.push_back(where + ": " + (opened ? opened->error().message : "could not connect"));
      return false;
    }
    pg_ = opened->value().get();
    store_ = std::move(opened->value());
  } else {
    where = "--data-dir " + data_dir_;
    auto opened = store::SqliteStore::open(data_dir_);
    if (!opened.ok()) {
      errors.push_back(where + ": " + opened.error().message);
      return false;
    }
    store_ = std::move(*opened);
  }
  auto read = run_to_end(control_, store_->read_all());
  if (!read || !read->ok()) {
    errors.push_back(where + ": " + (read ? read->error().message : "could not read the entities"));
    return false;
  }
  contents = std::move(read->value());
  loaded = store::load_rows(contents.entities);
  spdlog::info("store: {} entities from {} (revision {})", contents.entities.size(),
               postgres_ ? "PostgreSQL " + postgres_->description : data_dir_, contents.revision);
  for (const auto& e : loaded.errors) errors.push_back(where + ": " + e.to_string());
  return loaded.ok();
}

std::string Gateway::database_kind() const {
  if (!config_path_.empty() || data_plane_) return "off";
  return pg_ != nullptr ? "postgres" : "sqlite";
}

bool Gateway::database_reachable() const { return pg_ == nullptr || pg_->reachable(); }

std::int64_t Gateway::store_revision() const { return entities_ && entities_->has_store() ? entities_->revision() : 0; }

bool Gateway::start(std::vector<std::string>& errors) {
  net::set_tls_session_settings(options_.tls_sessions);  // before any TLS context is made
  config::LoadResult loaded;
  store::Contents contents;
  if (!prepare_cluster(errors) || !load_initial(loaded, contents, errors)) return false;
  // The Admin API's entities start from the same configuration as the first snapshot.
  if (store_) {
    entities_ = std::make_shared<admin::EntityApi>(
        *store_, std::move(contents), loaded.config,
        [this](std::shared_ptr<const config::DeclarativeConfig> c, const std::string& why) { stage(std::move(c), why); },
        [this](std::function<void()> task) { boost::asio::post(control_, std::move(task)); });
    // Other nodes' changes (a shared store): read and taken live, one catch-up at a time.
    store_->on_change([this](std::int64_t revision) {
      if (shutting_down_ || revision == entities_->revision()) return;
      asio::co_spawn(control_, entities_->catch_up(revision), asio::detached);
    });
  } else {
    entities_ = std::make_shared<admin::EntityApi>([this]() -> std::shared_ptr<const config::DeclarativeConfig> {
      return snapshot_ ? snapshot_->config_owner : nullptr;
    });
  }
  std::string dns_error;
  dns_ = std::make_unique<net::DnsCache>(control_, options_.dns, dns_error);
  if (!dns_error.empty()) {
    errors.push_back("--dns-resolver: " + dns_error);
    return false;
  }
  // The first snapshot waits for its names (bounded by the resolver's own timeouts);
  // the control loop is not running yet, so it is driven here.
  bool resolved = false;
  dns_->ensure(config::hostnames_to_resolve(loaded.config), [&] { resolved = true; });
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!resolved && std::chrono::steady_clock::now() < give_up) {
    control_.run_one_for(std::chrono::milliseconds(100));
    if (control_.stopped()) control_.restart();
  }
  control_.restart();
  std::vector<std::string> warnings;
  try {
    snapshot_ = config::build_snapshot(std::make_shared<const config::DeclarativeConfig>(std::move(loaded.config)), ++generation_, shared_state_, host_lookup(), warnings, &control_);
  } catch (const std::exception& e) {
    if (!data_plane_) {
      errors.push_back(e.what());
      return false;
    }
    // A data plane's kept configuration that does not build here: start without one and
    // wait for the control plane's.
    spdlog::warn("cluster: the kept configuration could not be built ({}); waiting for the control plane", e.what());
    data_plane_->forget_configuration();
    auto empty = no_configuration_yet();
    snapshot_ = config::build_snapshot(std::make_shared<const config::DeclarativeConfig>(std::move(empty.config)),
                                       ++generation_, shared_state_, host_lookup(), warnings, &control_);
  }
  for (const auto& w : warnings) spdlog::warn("{}", w);
  note_activation();
  staple(snapshot_);

  if (options_.access_log != "off") {
    std::string error;
    auto log_format = obs::LogFormat::compile(options_.access_log_format, error);
    if (!log_format) {
      errors.push_back("--access-log-format: " + error);
      return false;
    }
    access_sink_ = obs::AccessLogSink::open(options_.access_log, log_format, error);
    if (!access_sink_) {
      errors.push_back(error);
      return false;
    }
  }
  if (options_.max_connections_per_client > 0) {
    connections_per_client_ = std::make_unique<net::ConnectionsPerAddress>(options_.max_connections_per_client);
  }
  for (int i = 0; i < options_.workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(static_cast<std::size_t>(i), options_, access_sink_,
                                                connections_per_client_.get()));
  }
  if (!bind_listeners(errors)) return false;
  if (options_.admin_listen != "off") {
    asio::ip::tcp::endpoint ep;
    std::string error;
    if (!parse_listen(options_.admin_listen, ep, error)) {
      errors.push_back("--admin-listen: " + error);
      return false;
    }
    std::string warning = admin::AdminServer::exposure_warning(ep.address(), options_.admin_token);
    if (!warning.empty()) spdlog::warn("{}", warning);
    admin_ = std::make_unique<admin::AdminServer>(control_, control_deadlines_, *this, entities_);
    if (!admin_->listen(ep, error)) {
      errors.push_back("--admin-listen: " + error);
      return false;
    }
  }
  if (options_.status_listen != "off") {
    asio::ip::tcp::endpoint ep;
    std::string error;
    status_ = std::make_unique<admin::AdminServer>(control_, control_deadlines_, *this, nullptr, true);
    if (!parse_listen(options_.status_listen, ep, error) || !status_->listen(ep, error)) {
      errors.push_back("--status-listen: " + error);
      return false;
    }
  }
  if (!start_cluster(errors)) return false;
  obs::set_max_series(options_.metrics_max_series);
  for (auto& w : workers_) w->start(snapshot_);
  health_checker_.apply(snapshot_);
  if (pg_ != nullptr) {
    pg_->set_heartbeat([this] {
      return store::NodeReport{node_id_, host_name(), PORTICO_VERSION, snapshot_ ? snapshot_->config.hash : "", store_revision()};
    });
    pg_->follow();
  }
  watch_dns();
  if (handle_signals_) watch_signals();
  spdlog::info("portico {} started: {} worker(s), proxy on {}, admin on {}, {} route(s), {} service(s)",
               PORTICO_VERSION, workers_.size(),
               options_.proxy_listen.empty() ? std::string("off") : fmt::format("{}", fmt::join(options_.proxy_listen, ",")),
               options_.admin_listen,
               snapshot_->config.routes.size(), snapshot_->config.services.size());
  return true;
}

int Gateway::admin_port() const { return admin_ ? admin_->port() : 0; }
int Gateway::status_port() const { return status_ ? status_->port() : 0; }

std::shared_ptr<const net::TlsServerContext> Gateway::node_tls_context(std::string& error) const {
  net::TlsCertificate certificate;
  if (options_.ssl_cert.empty() != options_.ssl_cert_key.empty()) {
    error = "--ssl-cert and --ssl-cert-key go together";
    return nullptr;
  }
  if (options_.ssl_cert.empty()) {
    certificate = net::self_signed_certificate();
    spdlog::info("TLS listeners use a self-signed certificate for localhost (set --ssl-cert and --ssl-cert-key)");
  } else if (!net::read_pem_file(options_.ssl_cert, certificate.cert_pem, error) ||
             !net::read_pem_file(options_.ssl_cert_key, certificate.key_pem, error)) {
    error = "--ssl-cert: " + error;
    return nullptr;
  }
  auto context = net::TlsServerContext::create(certificate, error);
  if (!context) error = "--ssl-cert / --ssl-cert-key: " + error;
  return context;
}

bool Gateway::bind_listeners(std::vector<std::string>& errors) {
  asio::io_context scratch;
  std::shared_ptr<const net::TlsServerContext> tls;  // one for every ssl listener
  for (const auto& text : options_.proxy_listen) {
    ListenSpec spec;
    std::string error;
    if (!parse_listen_spec(text, spec, error)) {
      errors.push_back("--proxy-listen: " + error);
      return false;
    }
    if (spec.ssl && !tls) {
      tls = node_tls_context(error);
      if (!tls) {
        errors.push_back(error);
        return false;
      }
    }
    asio::ip::tcp::endpoint ep = spec.endpoint;
    // The first socket may bind port 0; the others share the port it got (SO_REUSEPORT
    // lets the kernel spread connections over the workers' sockets).
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      asio::ip::tcp::acceptor acceptor(scratch);
      boost::system::error_code ec;
      acceptor.open(ep.protocol(), ec);
      if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) {
        int one = 1;
        if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
          ec.assign(errno, boost::system::system_category());
        }
      }
      if (!ec) acceptor.bind(ep, ec);
      if (!ec) acceptor.listen(spec.backlog, ec);
      if (ec) {
        errors.push_back("--proxy-listen: cannot listen on " + text + ": " + ec.message());
        return false;
      }
      if (i == 0) {
        ep.port(acceptor.local_endpoint().port());
        proxy_ports_.push_back(ep.port());
      }
      auto protocol = ep.protocol();
      workers_[i]->add_listener(acceptor.release(), protocol, ep.port(), spec.ssl ? tls : nullptr, spec.http2);
      if (spec.ssl && options_.ssl_stapling) stapler_.track(tls);
    }
  }
  return true;
}

void Gateway::watch_signals() {
  signals_ = std::make_unique<asio::signal_set>(control_, SIGHUP, SIGTERM, SIGINT);
  signals_->add(SIGUSR1);
  signals_->async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    if (signo == SIGUSR1) {
      // logrotate: the file was moved away; lines from now on go to a new file at the path.
      std::string error;
      if (!access_sink_) spdlog::info("SIGUSR1: no access log file to reopen");
      else if (access_sink_->reopen(error)) spdlog::info("SIGUSR1: access log reopened");
      else spdlog::error("SIGUSR1: {}; lines keep going to the old file", error);
      watch_signals();
    } else if (signo == SIGHUP) {
      spdlog::info("SIGHUP: reloading {}", config_path_);
      reload();
      watch_signals();
    } else {
      spdlog::info("{}: shutting down gracefully (grace period {} ms)", signo == SIGTERM ? "SIGTERM" : "SIGINT",
                   options_.shutdown_timeout.count());
      begin_shutdown();
    }
  });
}

std::vector<std::string> Gateway::reload() {
  std::vector<std::string> errors;
  if (data_plane_) {
    spdlog::info("reload: a data plane's configuration comes from its control plane");
    return errors;
  }
  if (config_path_.empty()) {
    spdlog::info("reload: the configuration is the store's ({}); it changes through the Admin API",
                 pg_ != nullptr ? "PostgreSQL " + postgres_->description : data_dir_);
    return errors;
  }
  auto loaded = config::load_declarative_file(config_path_);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) {
      errors.push_back(e.to_string());
      spdlog::error("reload rejected: {}", e.to_string());
    }
    spdlog::error("reload rejected: the previous configuration keeps serving");
    ++config_rejections_;
    return errors;
  }
  if (loaded.config.hash == snapshot_->config.hash) {
    spdlog::info("reload: configuration unchanged ({})", loaded.config.hash);
    ++reload_sequence_;  // a reload still waiting for DNS is superseded by this one
    return errors;
  }
  stage(std::move(loaded.config), "reload");
  return errors;
}

void Gateway::stage(std::shared_ptr<const config::DeclarativeConfig> pending, const std::string& why, Activated activated) {
  // Names not seen before are resolved first (asynchronously); the old snapshot serves
  // meanwhile. With nothing to resolve the new snapshot is active before this returns.
  // A later change supersedes this one even if its names resolve first.
  std::uint64_t sequence = ++reload_sequence_;
  dns_->ensure(config::hostnames_to_resolve(*pending), [this, pending, sequence, why, activated] {
    if (shutting_down_) return;
    if (sequence != reload_sequence_) {
      spdlog::info("{}: configuration {} superseded by a later change", why, pending->hash);
      return;
    }
    std::string error = activate(pending, why);
    if (activated) activated(error);
  });
}

std::string Gateway::activate(std::shared_ptr<const config::DeclarativeConfig> config, const std::string& why) {
  std::vector<std::string> warnings;
  std::shared_ptr<const config::Snapshot> snap;
  auto started = std::chrono::steady_clock::now();
  try {
    snap = config::build_snapshot(std::move(config), ++generation_, shared_state_, host_lookup(), warnings, &control_,
                                  snapshot_.get());
    spdlog::debug("{}: snapshot built in {:.1f} ms", why,
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
  } catch (const std::exception& e) {
    spdlog::error("{}: configuration not activated, the previous one keeps serving: {}", why, e.what());
    ++config_rejections_;
    return e.what();
  }
  for (const auto& w : warnings) spdlog::warn("{}", w);
  // The replaced snapshot is kept until the next DNS tick (workers have moved on by then),
  // then freed by the reaper's thread, not by the last worker to drop it (core/reaper.hpp).
  if (snapshot_) retired_.push_back(std::move(snapshot_));
  snapshot_ = snap;
  note_activation();
  if (control_plane_) control_plane_->publish(snap->config);
  for (auto& w : workers_) w->publish(snap);
  health_checker_.apply(snap);
  staple(snap);
  spdlog::info("{}: configuration {} active ({} routes, {} services)", why, snap->config.hash, snap->config.routes.size(),
               snap->config.services.size());
  return {};
}

void Gateway::staple(const std::shared_ptr<const config::Snapshot>& snapshot) {
  if (!options_.ssl_stapling || !snapshot->sni_table) return;
  for (const auto& context : snapshot->sni_table->contexts()) stapler_.track(context);
}

void Gateway::note_activation() {
  ++config_activations_;
  last_activation_unix_ =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void Gateway::watch_dns() {
  dns_timer_.expires_after(std::chrono::seconds(1));
  dns_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || shutting_down_) return;
    for (auto& old : retired_) reaper_.retire(std::move(old));
    retired_.clear();
    dns_->refresh(snapshot_->hostnames, [this](const std::string& host) {
      if (shutting_down_) return;
      const auto* answer = dns_->lookup(host);
      std::string now;
      for (const auto& a : answer->addresses) now += (now.empty() ? "" : ", ") + a.to_string();
      spdlog::info("dns: '{}' now resolves to [{}]{}", host, now, answer->error.empty() ? "" : " (" + answer->error + ")");
      activate(snapshot_->config_owner, "dns change");
    });
    watch_dns();
  });
}

void Gateway::request_reload() {
  asio::post(control_, [this] { reload(); });
}

void Gateway::request_shutdown() {
  asio::post(control_, [this] { begin_shutdown(); });
}

void Gateway::post_to_control(std::function<void()> fn) { asio::post(control_, std::move(fn)); }

void Gateway::begin_shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  if (signals_) {
    boost::system::error_code ec;
    signals_->cancel(ec);
  }
  if (admin_) admin_->close();
  if (status_) status_->close();
  if (control_plane_) control_plane_->stop();
  if (data_plane_) data_plane_->stop();
  health_checker_.stop();
  dns_timer_.cancel();
  for (auto& w : workers_) w->begin_drain();
  drain_deadline_ = std::chrono::steady_clock::now() + options_.shutdown_timeout;
  poll_drained();
}

void Gateway::poll_drained() {
  bool all = std::all_of(workers_.begin(), workers_.end(), [](const auto& w) { return w->drained(); });
  if (all || std::chrono::steady_clock::now() >= drain_deadline_) {
    if (!all) spdlog::warn("grace period over: closing the remaining connections");
    for (auto& w : workers_) w->stop();
    control_.stop();
    return;
  }
  drain_timer_.expires_after(std::chrono::milliseconds(20));
  drain_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) poll_drained();
  });
}

int Gateway::run() {
  auto guard = asio::make_work_guard(control_);
  control_.run();
  for (auto& w : workers_) w->join();
  spdlog::info("portico stopped");
  return 0;
}

GatewayTotals Gateway::totals() const {
  GatewayTotals t;
  for (const auto& w : workers_) t.add(w->stats());
  // nginx's meaning: reading a request head = active, minus idle, minus being served.
  std::uint64_t busy = t.connections_waiting + t.connections_writing;
  t.connections_reading = t.connections_active > busy ? t.connections_active - busy : 0;
  return t;
}

}  // namespace portico
