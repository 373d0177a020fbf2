// portico: command line entry point (run / check / version).
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#ifdef PORTICO_WITH_MIMALLOC
#include <mimalloc.h>
#endif

#include "cluster/cluster_cli.hpp"
#include "config/loader.hpp"
#include "config_commands.hpp"
#include "migrations_commands.hpp"
#include "core/gateway.hpp"
#include "config/validators.hpp"
#include "store/pg_options.hpp"

namespace {

int check_command(const std::string& path) {
  auto result = portico::config::load_declarative_file(path);
  if (!result.ok()) {
    for (const auto& e : result.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    std::fprintf(stderr, "%s: %zu error(s)\n", path.c_str(), result.errors.size());
    return 1;
  }
  const auto& c = result.config;
  std::size_t targets = 0;
  for (const auto& u : c.upstreams) targets += u.targets.size();
  std::printf("%s: ok: %zu service(s), %zu route(s), %zu upstream(s), %zu target(s), %zu plugin(s), %zu consumer(s), hash %s\n",
              path.c_str(), c.services.size(), c.routes.size(), c.upstreams.size(), targets, c.plugins.size(),
              c.consumers.size(), c.hash.c_str());
  return 0;
}

// The PostgreSQL options, shared by `run` and `migrations`.
struct DatabaseFlags {
  std::string database;
  portico::store::PgSettings pg;
  double update_frequency = 5;
};

void add_database_options(CLI::App* command, DatabaseFlags& flags, bool with_update_frequency) {
  command->add_option("--database", flags.database,
                      "postgres://user:password@host:port/database (Kong's KONG_DATABASE=postgres: several nodes share "
                      "it), or postgres with the --pg-* options; without it, the embedded SQLite store (--data-dir)")
      ->envname("PORTICO_DATABASE");
  command->add_option("--pg-host", flags.pg.host, "With --database postgres: the server's address")
      ->envname("PORTICO_PG_HOST")->capture_default_str();
  command->add_option("--pg-port", flags.pg.port, "With --database postgres: the server's port")
      ->envname("PORTICO_PG_PORT")->check(CLI::Range(1, 65535))->capture_default_str();
  command->add_option("--pg-user", flags.pg.user, "With --database postgres: the role")
      ->envname("PORTICO_PG_USER")->capture_default_str();
  command->add_option("--pg-password", flags.pg.password, "With --database postgres: the role's password")
      ->envname("PORTICO_PG_PASSWORD");
  command->add_option("--pg-database", flags.pg.database, "With --database postgres: the database")
      ->envname("PORTICO_PG_DATABASE")->capture_default_str();
  if (with_update_frequency) {
    command->add_option("--db-update-frequency", flags.update_frequency,
                        "Seconds between two checks of the database's revision, besides its notifications (Kong's "
                        "db_update_frequency)")
        ->envname("PORTICO_DB_UPDATE_FREQUENCY")->check(CLI::Range(0.05, 3600.0))->capture_default_str();
  }
}

// The PostgreSQL options from the flags, or nullopt with the error printed.
std::optional<portico::store::PgOptions> postgres_options(const DatabaseFlags& flags) {
  auto options = portico::store::pg_options(flags.database, flags.pg);
  if (!options.ok()) {
    std::fprintf(stderr, "%s\n", options.error().message.c_str());
    return std::nullopt;
  }
  options->update_frequency = std::chrono::milliseconds(static_cast<long long>(flags.update_frequency * 1000));
  return *options;
}

}  // namespace

int main(int argc, char** argv) {
  // A write to a peer that has gone raises SIGPIPE, whose default action ends the process
  // without a word. Asio's sends pass MSG_NOSIGNAL, but libraries write with write(2):
  // hiredis (a Redis server killed under load took a gateway down with it), OpenSSL's socket
  // BIO. Ignored, they see EPIPE and report a lost connection.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Portico: an API gateway and Backend-for-Frontend server that speaks Kong's configuration language"};
  app.require_subcommand(1);

  portico::proxy::ProxyOptions options;
  std::string config_path;
  std::string log_level = "info";
  std::vector<std::string> trusted_ips;
  long long header_timeout_ms = 60000, body_timeout_ms = 60000, keepalive_ms = 60000, shutdown_ms = 10000,
            upstream_idle_ms = 60000;

  // A repeated flag overrides the earlier one (as most servers' command lines do);
  // the list options below accumulate instead.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto* run = app.add_subcommand("run", "Start the gateway");
  std::string data_dir = "./portico-data";
  run->add_option("-c,--config", config_path,
                  "Declarative configuration file (kong.yml): DB-less mode, the Admin API only reads")
      ->envname("PORTICO_CONFIG");
  auto* data_dir_option =
      run->add_option("--data-dir", data_dir, "Without -c: the embedded store's directory (created when missing)")
          ->envname("PORTICO_DATA_DIR")->capture_default_str();
  DatabaseFlags run_database;
  add_database_options(run, run_database, true);
  run->add_option("--proxy-listen", options.proxy_listen, "Proxy listener ADDR:PORT [ssl] [http2] [backlog=N] (repeatable, or comma-separated)")
      ->envname("PORTICO_PROXY_LISTEN")->delimiter(',')->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  run->add_option("--ssl-cert", options.ssl_cert, "PEM certificate (chain) of the ssl proxy listeners (Kong's ssl_cert)")
      ->envname("PORTICO_SSL_CERT");
  run->add_option("--ssl-cert-key", options.ssl_cert_key, "PEM private key of --ssl-cert (Kong's ssl_cert_key)")
      ->envname("PORTICO_SSL_CERT_KEY");
  run->add_option("--ssl-stapling", options.ssl_stapling,
                  "Staple OCSP answers fetched from each certificate's responder (nginx's ssl_stapling)")
      ->envname("PORTICO_SSL_STAPLING")->capture_default_str();
  run->add_option("--ssl-session-tickets", options.tls_sessions.tickets,
                  "Resume TLS sessions with tickets (Kong's ssl_session_tickets; off: the server's session cache)")
      ->envname("PORTICO_SSL_SESSION_TICKETS")->capture_default_str();
  run->add_option_function<long>(
         "--ssl-session-timeout", [&](long s) { options.tls_sessions.timeout = std::chrono::seconds(s); },
         "Seconds a TLS session can be resumed (Kong's ssl_session_timeout; default 86400)")
      ->envname("PORTICO_SSL_SESSION_TIMEOUT")->check(CLI::Range(1L, 7L * 86400));
  run->add_option_function<long>(
         "--ssl-session-ticket-rotation",
         [&](long s) { options.tls_sessions.ticket_key_rotation = std::chrono::seconds(s); },
         "Seconds between new session ticket keys (older keys still open tickets for the session timeout; default 3600)")
      ->envname("PORTICO_SSL_SESSION_TICKET_ROTATION")->check(CLI::Range(1L, 7L * 86400));
  run->add_option("--admin-listen", options.admin_listen, "Admin API listen address ADDR:PORT, or off")
      ->envname("PORTICO_ADMIN_LISTEN")->capture_default_str();
  run->add_option("--admin-token", options.admin_token,
                  "Secret every Admin API request must carry in a Kong-Admin-Token header")
      ->envname("PORTICO_ADMIN_TOKEN");
  run->add_option("--workers", options.workers, "Worker threads (0: one per core)")
      ->envname("PORTICO_WORKERS")->check(CLI::Range(0, 1024))->capture_default_str();
  run->add_option("--access-log", options.access_log, "Access log path (reopened on SIGUSR1), - or stdout, stderr, or off")
      ->envname("PORTICO_ACCESS_LOG")->capture_default_str();
  run->add_option("--access-log-format", options.access_log_format,
                  "combined, portico, json, or an nginx log_format string ('$remote_addr ... $request_time')")
      ->envname("PORTICO_ACCESS_LOG_FORMAT")->capture_default_str();
  run->add_option("--request-id-header", options.request_id_header,
                  "Header carrying each request's id to the service and the client, or off")
      ->envname("PORTICO_REQUEST_ID_HEADER")->capture_default_str();
  run->add_option("--request-id-upstream", options.request_id_upstream, "Send the request id header to services (on|off)")
      ->envname("PORTICO_REQUEST_ID_UPSTREAM")->capture_default_str();
  run->add_option("--request-id-downstream", options.request_id_downstream,
                  "Send the request id header on every answer (on|off)")
      ->envname("PORTICO_REQUEST_ID_DOWNSTREAM")->capture_default_str();
  run->add_option("--status-listen", options.status_listen,
                  "Status API listen address ADDR:PORT (GET /status, /metrics, /status/ready), or off")
      ->envname("PORTICO_STATUS_LISTEN")->capture_default_str();
  run->add_option("--metrics-max-series", options.metrics_max_series,
                  "Prometheus series (service, route, consumer) per worker; beyond, observations are dropped and counted")
      ->envname("PORTICO_METRICS_MAX_SERIES")->check(CLI::PositiveNumber)->capture_default_str();
  run->add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->envname("PORTICO_LOG_LEVEL")->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  run->add_option("--trusted-ips", trusted_ips, "Peers (IP or CIDR) whose X-Forwarded-* headers are trusted")
      ->envname("PORTICO_TRUSTED_IPS")->delimiter(',')->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  run->add_option("--real-ip-header", options.real_ip_header,
                  "From a --trusted-ips peer, the header that names the client's address (Kong's real_ip_header)")
      ->envname("PORTICO_REAL_IP_HEADER")->capture_default_str();
  run->add_flag("--real-ip-recursive", options.real_ip_recursive,
                "Take the rightmost untrusted address of --real-ip-header, not the rightmost (Kong's real_ip_recursive)")
      ->envname("PORTICO_REAL_IP_RECURSIVE");
  run->add_option("--max-body-size", options.max_body_size, "Request body limit in bytes (0: unlimited) -> 413")
      ->envname("PORTICO_MAX_BODY_SIZE")->capture_default_str();
  run->add_option("--max-header-size", options.limits.max_head_size, "Request head limit in bytes -> 431")
      ->envname("PORTICO_MAX_HEADER_SIZE")->check(CLI::Range(1024, 1 << 20))->capture_default_str();
  run->add_option("--max-uri-length", options.limits.max_request_line, "Request line limit in bytes -> 414")
      ->envname("PORTICO_MAX_URI_LENGTH")->check(CLI::Range(256, 1 << 20))->capture_default_str();
  run->add_option("--max-headers", options.limits.max_header_count, "Header field count limit -> 431")
      ->envname("PORTICO_MAX_HEADERS")->check(CLI::Range(8, 10000))->capture_default_str();
  run->add_option("--http2-max-concurrent-streams", options.http2.max_concurrent_streams,
                  "Streams an HTTP/2 client may have open at once (nginx's http2_max_concurrent_streams)")
      ->envname("PORTICO_HTTP2_MAX_CONCURRENT_STREAMS")->check(CLI::Range(1, 10000))->capture_default_str();
  run->add_option("--http2-initial-window-size", options.http2.initial_window_size,
                  "Bytes of request body an HTTP/2 client may send per stream before the gateway reads them")
      ->envname("PORTICO_HTTP2_INITIAL_WINDOW_SIZE")->check(CLI::Range(1024, 0x7fffffff))->capture_default_str();
  run->add_option("--http2-max-frame-size", options.http2.max_frame_size, "Largest HTTP/2 frame payload the gateway accepts")
      ->envname("PORTICO_HTTP2_MAX_FRAME_SIZE")->check(CLI::Range(16384, 16777215))->capture_default_str();
  run->add_option("--client-header-timeout", header_timeout_ms, "ms to receive a whole request head")
      ->envname("PORTICO_CLIENT_HEADER_TIMEOUT")->check(CLI::PositiveNumber)->capture_default_str();
  run->add_option("--client-body-timeout", body_timeout_ms, "ms between two reads of a request body")
      ->envname("PORTICO_CLIENT_BODY_TIMEOUT")->check(CLI::PositiveNumber)->capture_default_str();
  run->add_option("--client-body-min-rate", options.client_body_min_rate,
                  "Bytes/s a request body must average after its first client-body-timeout (0: no minimum)")
      ->envname("PORTICO_CLIENT_BODY_MIN_RATE")->capture_default_str();
  run->add_option("--keepalive-timeout", keepalive_ms, "ms an idle client connection is kept")
      ->envname("PORTICO_KEEPALIVE_TIMEOUT")->check(CLI::PositiveNumber)->capture_default_str();
  run->add_option("--shutdown-timeout", shutdown_ms, "ms granted to in-flight requests on SIGTERM")
      ->envname("PORTICO_SHUTDOWN_TIMEOUT")->check(CLI::NonNegativeNumber)->capture_default_str();
  run->add_option("--max-connections-per-worker", options.max_connections_per_worker, "Client connections per worker")
      ->envname("PORTICO_MAX_CONNECTIONS_PER_WORKER")->check(CLI::PositiveNumber)->capture_default_str();
  run->add_option("--max-connections-per-client", options.max_connections_per_client,
                  "Open connections per client address, all workers together (0: no limit)")
      ->envname("PORTICO_MAX_CONNECTIONS_PER_CLIENT")->capture_default_str();
  run->add_option("--upstream-keepalive-pool-size", options.upstream_keepalive_pool_size,
                  "Idle upstream connections kept per address and worker")
      ->envname("PORTICO_UPSTREAM_KEEPALIVE_POOL_SIZE")->capture_default_str();
  run->add_option("--upstream-keepalive-max-requests", options.upstream_keepalive_max_requests,
                  "Requests per upstream connection")
      ->envname("PORTICO_UPSTREAM_KEEPALIVE_MAX_REQUESTS")->check(CLI::PositiveNumber)->capture_default_str();
  run->add_option("--dns-resolver", options.dns.servers, "DNS servers ip[:port],... (default: /etc/resolv.conf)")
      ->envname("PORTICO_DNS_RESOLVER");
  run->add_option("--dns-valid-ttl", options.dns.valid_ttl, "Seconds a DNS answer is used (0: the record's TTL)")
      ->envname("PORTICO_DNS_VALID_TTL")->check(CLI::NonNegativeNumber)->capture_default_str();
  run->add_option("--dns-error-ttl", options.dns.error_ttl, "Seconds before retrying a failed re-resolution")
      ->envname("PORTICO_DNS_ERROR_TTL")->check(CLI::PositiveNumber)->capture_default_str();
  run->add_option("--dns-not-found-ttl", options.dns.not_found_ttl, "Seconds before retrying a name that never resolved")
      ->envname("PORTICO_DNS_NOT_FOUND_TTL")->check(CLI::PositiveNumber)->capture_default_str();
  run->add_option("--upstream-keepalive-idle-timeout", upstream_idle_ms, "ms an idle upstream connection is kept")
      ->envname("PORTICO_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT")->check(CLI::PositiveNumber)->capture_default_str();

  portico::cluster::ClusterFlags cluster_flags;
  portico::cluster::add_run_options(run, cluster_flags);

  auto* check = app.add_subcommand("check", "Validate a declarative configuration file");
  std::string check_path;
  check->add_option("-c,--config", check_path, "Declarative configuration file")->required()->envname("PORTICO_CONFIG");

  app.add_subcommand("version", "Print the version");

  auto* migrations_cmd = app.add_subcommand("migrations", "Prepare the PostgreSQL store (Kong's verbs)");
  migrations_cmd->require_subcommand(1);
  DatabaseFlags migrations_database;
  add_database_options(migrations_cmd, migrations_database, false);
  std::string migrations_verb;
  for (const char* verb : {"bootstrap", "up", "list"}) {
    const char* what = std::string_view(verb) == "bootstrap" ? "Create the schema in a new database"
                       : std::string_view(verb) == "up"      ? "Apply the migrations the database lacks"
                                                             : "Show the applied and pending migrations";
    migrations_cmd->add_subcommand(verb, what)->callback([&migrations_verb, verb] { migrations_verb = verb; });
  }

  auto* config_cmd = app.add_subcommand("config", "Move a declarative file into the store and back (Kong's names)");
  config_cmd->require_subcommand(1);
  std::string config_data_dir = "./portico-data", import_file, export_file, parse_file;
  config_cmd->add_option("--data-dir", config_data_dir, "The embedded store's directory")
      ->envname("PORTICO_DATA_DIR")->capture_default_str();
  DatabaseFlags config_database;
  add_database_options(config_cmd, config_database, false);
  auto* db_import = config_cmd->add_subcommand("db_import", "Add a declarative file's entities to the store");
  db_import->add_option("file", import_file, "kong.yml")->required();
  auto* db_export = config_cmd->add_subcommand("db_export", "Write the store as a declarative file (stdout without FILE)");
  db_export->add_option("file", export_file, "Output file");
  auto* parse = config_cmd->add_subcommand("parse", "Validate a declarative file");
  parse->add_option("file", parse_file, "kong.yml")->required();

  portico::cluster::GenCertFlags gen_cert_flags;
  CLI::App* gen_cert = nullptr;
  portico::cluster::add_hybrid_command(app, gen_cert_flags, gen_cert);

  CLI11_PARSE(app, argc, argv);

  if (app.got_subcommand("version")) {
    std::printf("portico %s\n", PORTICO_VERSION);
    return 0;
  }
  if (app.got_subcommand("check")) return check_command(check_path);
  if (db_import->parsed() || db_export->parsed()) {
    portico::cli::StoreLocation where{config_data_dir, std::nullopt};
    const std::string& named = config_database.database;
    if (!named.empty() && named != "sqlite" && !portico::store::names_postgres(named)) {
      std::fprintf(stderr, "--database: expected postgres://..., postgresql://..., postgres or sqlite\n");
      return 1;
    }
    if (portico::store::names_postgres(named)) {
      where.postgres = postgres_options(config_database);
      if (!where.postgres) return 1;
    }
    return db_import->parsed() ? portico::cli::db_import(where, import_file) : portico::cli::db_export(where, export_file);
  }
  if (parse->parsed()) return portico::cli::parse(parse_file);
  if (gen_cert->parsed()) return portico::cluster::gen_cert(gen_cert_flags);
  if (migrations_cmd->parsed()) {
    if (!portico::store::names_postgres(migrations_database.database)) {
      std::fprintf(stderr, "portico migrations: --database must name PostgreSQL (postgres://... or postgres)\n");
      return 1;
    }
    auto options = postgres_options(migrations_database);
    if (!options) return 1;
    return portico::cli::migrations(migrations_verb, *options);
  }

  spdlog::set_default_logger(spdlog::stderr_color_mt("portico"));
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y/%m/%d %H:%M:%S.%e [%l] %v");
#ifdef PORTICO_WITH_MIMALLOC
  spdlog::debug("allocator: mimalloc {}", mi_version());  // also keeps the library linked
#endif

  for (const auto& t : trusted_ips) {
    auto cidr = portico::net::Cidr::parse(t);
    if (!cidr) {
      std::fprintf(stderr, "--trusted-ips: invalid address or CIDR '%s'\n", t.c_str());
      return 1;
    }
    options.trusted_ips.push_back(*cidr);
  }
  if (options.real_ip_header == "proxy_protocol") {
    std::fprintf(stderr, "--real-ip-header: proxy_protocol needs PROXY protocol listeners, which Portico does not have\n");
    return 1;
  }
  if (!options.real_ip_header.empty() && !portico::config::is_valid_header_name(options.real_ip_header)) {
    std::fprintf(stderr, "--real-ip-header: '%s' is not a header name\n", options.real_ip_header.c_str());
    return 1;
  }
  if (options.request_id_header == "off") options.request_id_header.clear();
  if (!options.request_id_header.empty() && !portico::config::is_valid_header_name(options.request_id_header)) {
    std::fprintf(stderr, "--request-id-header: '%s' is not a header name\n", options.request_id_header.c_str());
    return 1;
  }
  options.client_header_timeout = std::chrono::milliseconds(header_timeout_ms);
  options.client_body_timeout = std::chrono::milliseconds(body_timeout_ms);
  options.keepalive_timeout = std::chrono::milliseconds(keepalive_ms);
  options.shutdown_timeout = std::chrono::milliseconds(shutdown_ms);
  options.upstream_keepalive_idle_timeout = std::chrono::milliseconds(upstream_idle_ms);

  if (!config_path.empty() && data_dir_option->count() > 0) {
    spdlog::warn("--data-dir is not used with -c (DB-less mode: the configuration is the file)");
  }
  std::optional<portico::store::PgOptions> postgres;
  const std::string& database = run_database.database;
  if (!database.empty() && database != "sqlite" && database != "off") {
    if (!portico::store::names_postgres(database)) {
      // Not echoed: it may hold a password.
      std::fprintf(stderr, "--database: expected postgres://..., postgresql://..., postgres, sqlite or off\n");
      return 1;
    }
    if (!config_path.empty()) {
      std::fprintf(stderr, "--database and -c go separately: a declarative file is DB-less mode\n");
      return 1;
    }
    postgres = postgres_options(run_database);
    if (!postgres) return 1;
  } else if (database == "off" && config_path.empty()) {
    std::fprintf(stderr, "--database off needs a declarative file (-c kong.yml)\n");
    return 1;
  }
  auto& cluster = cluster_flags.options;
  cluster.role = *portico::cluster::parse_role(cluster_flags.role);
  if (cluster.role != portico::cluster::Role::traditional) {
    std::string kind = !config_path.empty() || database == "off" ? "off" : postgres ? "postgres" : "sqlite";
    if (cluster.role == portico::cluster::Role::data_plane && database.empty() && config_path.empty()) kind = "off";
    auto problems = portico::cluster::check_options(cluster, kind);
    if (cluster.role == portico::cluster::Role::data_plane && !config_path.empty()) {
      problems.emplace_back("-c: a data plane's configuration comes from its control plane");
    }
    for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
    if (!problems.empty()) return 1;
    if (cluster.role == portico::cluster::Role::control_plane) {
      options.proxy_listen.clear();  // Kong's control planes have no proxy
      spdlog::info("control plane: no proxy listener (data planes proxy)");
    } else if (options.admin_listen != "off") {
      options.admin_listen = "off";  // Kong's data planes have no Admin API: changes go to the control plane
      spdlog::info("data plane: no Admin API (changes go through the control plane); /status on --status-listen");
    }
  }
  portico::Gateway gateway(options, config_path, true, config_path.empty() ? data_dir : "");
  if (postgres) gateway.use_postgres(std::move(*postgres));
  if (cluster.role != portico::cluster::Role::traditional) gateway.use_cluster(cluster);
  std::vector<std::string> errors;
  if (!gateway.start(errors)) {
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    std::fprintf(stderr, "portico: not started\n");
    return 1;
  }
  return gateway.run();
}
