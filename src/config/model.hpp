// The configuration entities, as read from a Kong 3.x declarative file. Plain data: the
// loader fills them, the snapshot builder compiles them. Field names and defaults are Kong's.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/password.hpp"

namespace portico::plugin {
struct Schema;
struct ParsedConfig;
}

namespace portico::config {

// Where an entity or field was written, for error messages.
struct SourceMark {
  int line = 0;    // 1-based; 0 when unknown (e.g. admin API)
  int column = 0;  // 1-based
};

struct ServiceConfig {
  std::string id;
  std::string name;
  std::string url;  // input only: Kong's shorthand, expanded into protocol, host, port and path
  // http or https; Kong Enterprise's ws and wss are accepted as their synonyms toward the
  // upstream (a WebSocket handshake is an HTTP/1.1 request to it either way).
  std::string protocol = "http";
  bool uses_tls() const { return protocol == "https" || protocol == "wss" || protocol == "grpcs"; }
  // gRPC services are reached over HTTP/2 (h2c for grpc, h2 by ALPN for grpcs).
  bool uses_http2() const { return protocol == "grpc" || protocol == "grpcs"; }
  std::string host;
  int port = 80;
  std::string path;  // empty: none (Kong's null), proxied as "/"
  int retries = 5;
  int connect_timeout_ms = 60000;
  int write_timeout_ms = 60000;
  int read_timeout_ms = 60000;
  // Portico-only (Kong has no equivalent; defaults keep Kong's behaviour, see
  // docs/configuration.md "Retries").
  std::vector<int> retry_on_statuses;   // upstream statuses that are retried (idempotent requests)
  // gRPC services: the statuses of trailers-only answers retried (Envoy's names: unavailable,
  // cancelled, deadline-exceeded, internal, resource-exhausted). Setting it declares the
  // service's methods idempotent: its calls are then retried like idempotent requests.
  std::vector<std::string> grpc_retry_on;
  int retry_backoff_base_ms = 25;       // full-jitter exponential backoff from the second retry
  int retry_backoff_max_ms = 250;
  // Retry budget (Finagle's), opt-in: each request deposits retry_budget_percent% of a retry,
  // each retry that reached the upstream withdraws one, plus a reserve of
  // retry_budget_min_per_second; -1 (null, the default): no budget, as in Kong.
  int retry_budget_percent = -1;
  int retry_budget_min_per_second = 10;
  int request_timeout_ms = 0;           // total deadline over all attempts; 0: none
  // Kong's upstream TLS fields (protocol https only). tls_verify unset: the node's default,
  // off as Kong's (nginx's proxy_ssl_verify); tls_verify_depth -1 (unset): 1 as nginx's;
  // ca_certificates: ids of ca_certificates entities, the trust store when verifying (empty:
  // the system's); client_certificate: id of a certificates entity shown to the upstream (mTLS).
  std::optional<bool> tls_verify;
  int tls_verify_depth = -1;
  std::vector<std::string> ca_certificates;
  std::string client_certificate;
  bool enabled = true;
  std::vector<std::string> tags;
  SourceMark mark;
};

struct RouteConfig {
  std::string id;
  std::string name;
  // Into DeclarativeConfig::services; kNoService for a service-less route (Kong's: only a
  // plugin that answers, such as aggregate, serves it; otherwise 503 after the access phase).
  static constexpr std::size_t kNoService = static_cast<std::size_t>(-1);
  std::size_t service_index = kNoService;
  std::vector<std::string> protocols{"http", "https"};
  std::vector<std::string> methods;
  std::vector<std::string> hosts;
  std::vector<std::string> paths;
  // Header name (lowercased) -> accepted values; "~*" prefix marks a regex.
  std::map<std::string, std::vector<std::string>> headers;
  // Kong's snis: TLS server names (lowercased; exact, "*.suffix" or "prefix.*") the
  // connection's SNI must match. Checked on TLS connections only; plain HTTP ignores it.
  std::vector<std::string> snis;
  bool strip_path = true;
  bool preserve_host = false;
  int regex_priority = 0;
  std::string path_handling = "v0";
  int https_redirect_status_code = 426;
  bool request_buffering = true;
  bool response_buffering = true;
  std::vector<std::string> tags;
  SourceMark mark;
};

struct TargetConfig {
  std::string id;      // empty when the file gave none
  std::string target;  // host:port
  std::string host;
  int port = 8000;
  int weight = 100;
  std::vector<std::string> tags;
  SourceMark mark;
};

// Kong's healthchecks.{active,passive}.healthy / .unhealthy blocks (0 disables a counter).
struct HealthyRule {
  double interval = 0;  // seconds between active probes of healthy targets; 0: none
  int successes = 0;
  std::vector<int> http_statuses;
};
struct UnhealthyRule {
  double interval = 0;  // seconds between active probes of unhealthy targets; 0: none
  int http_failures = 0;
  int tcp_failures = 0;
  int timeouts = 0;
  std::vector<int> http_statuses;
  double fail_timeout = 0;  // passive only (Portico, nginx's fail_timeout): seconds before a trial request
};

struct ActiveHealthcheck {
  std::string type = "http";  // http, https, tcp
  std::string http_path = "/";
  double timeout = 1;  // seconds
  int concurrency = 10;
  std::map<std::string, std::vector<std::string>> headers;
  bool https_verify_certificate = true;  // https probes: verify the chain and the name
  std::string https_sni;                 // https probes: SNI (default: the target's host name)
  HealthyRule healthy{0, 0, {200, 302}};
  UnhealthyRule unhealthy{0, 0, 0, 0, {429, 404, 500, 501, 502, 503, 504, 505}, 0};
  bool enabled() const { return healthy.interval > 0 || unhealthy.interval > 0; }
};

struct PassiveHealthcheck {
  std::string type = "http";
  HealthyRule healthy{0, 0, {200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308}};
  UnhealthyRule unhealthy{0, 0, 0, 0, {429, 500, 503}, 0};
  bool enabled() const { return unhealthy.http_failures > 0 || unhealthy.tcp_failures > 0 || unhealthy.timeouts > 0; }
};

struct Healthchecks {
  ActiveHealthcheck active;
  PassiveHealthcheck passive;
  double threshold = 0;  // percent of healthy weight below which the whole upstream is unhealthy
  bool enabled() const { return active.enabled() || passive.enabled(); }
};

struct UpstreamConfig {
  std::string id;
  std::string name;
  std::string algorithm = "round-robin";  // round-robin, least-connections, consistent-hashing, latency
  int slots = 10000;
  std::string host_header;
  // consistent-hashing inputs: none, consumer, ip, header, cookie, path, query_arg, uri_capture
  std::string hash_on = "none";
  std::string hash_fallback = "none";
  std::string hash_on_header, hash_fallback_header;
  std::string hash_on_cookie, hash_on_cookie_path = "/";
  std::string hash_on_query_arg, hash_fallback_query_arg;
  std::string hash_on_uri_capture, hash_fallback_uri_capture;
  Healthchecks healthchecks;
  // Portico-only, Envoy's circuit_breakers thresholds; 0: unlimited.
  int max_connections = 0;       // upstream connections open (in use or pooled), all workers
  int max_pending_requests = 0;  // requests waiting for a new connection
  int max_requests = 0;          // requests in flight
  // Kong's client_certificate: id of a certificates entity shown to targets that ask for one,
  // by https services through this upstream that have none of their own and by https probes.
  std::string client_certificate;
  std::vector<TargetConfig> targets;
  std::vector<std::string> tags;
  SourceMark mark;
};

// Consumers and their credentials (Kong's entities). Credentials identify a consumer to
// the auth plugins; passwords are kept only as salted slow hashes.
struct KeyAuthCredential {
  std::string id;
  std::string key;
  std::vector<std::string> tags;
  SourceMark mark;
};

struct BasicAuthCredential {
  std::string id;
  std::string username;
  crypto::PasswordHash password;
  // Input only, consumed when read (config/entity_records.cpp): a plain password to hash, or
  // the stored hash (password_hash); cleared once `password` is set.
  std::string password_input, password_hash_input;
  std::vector<std::string> tags;
  SourceMark mark;
};

struct JwtSecret {
  std::string id;
  std::string key;  // matched against the token's key claim (iss by default)
  std::string algorithm = "HS256";
  std::string secret;          // HS*: the shared secret
  std::string rsa_public_key;  // RS*/PS*/ES*/EdDSA: PEM public key (checked at load)
  std::vector<std::string> tags;
  SourceMark mark;
};

struct AclGroup {
  std::string id;
  std::string group;
  std::vector<std::string> tags;
  SourceMark mark;
};

struct ConsumerConfig {
  std::string id;
  std::string username;
  std::string custom_id;
  std::vector<std::string> tags;
  std::vector<KeyAuthCredential> keyauth_credentials;
  std::vector<BasicAuthCredential> basicauth_credentials;
  std::vector<JwtSecret> jwt_secrets;
  std::vector<AclGroup> acls;
  SourceMark mark;
};

// Kong's certificates and snis: a certificate (chain and key, optionally a second pair of
// another key type) and the server names that select it in TLS handshakes.
struct CertificateConfig {
  std::string id;
  std::string cert, key;          // PEM: the chain (leaf first) and its private key
  std::string cert_alt, key_alt;  // PEM, optional: a pair of another key type
  std::vector<std::string> tags;
  // Input only: the Admin API's shorthand (POST /certificates {"snis": [...]}), made into
  // SniConfig entries; in a declarative file, nested `snis` entries are read as SniConfig.
  std::vector<std::string> snis;
  SourceMark mark;
};

struct SniConfig {
  std::string id;
  std::string name;  // an exact host name, "*.rest", "prefix.*" or "*" (the default certificate)
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::size_t certificate_index = kNone;  // into DeclarativeConfig::certificates
  std::vector<std::string> tags;
  SourceMark mark;
};

// Kong's ca_certificates: one CA certificate, trusted when services verify their upstream.
struct CaCertificateConfig {
  std::string id;
  std::string cert;         // PEM, one certificate with the CA basic constraint
  std::string cert_digest;  // derived: SHA-256 of the DER, lowercase hex (Kong's)
  std::vector<std::string> tags;
  SourceMark mark;
};

// One plugin entry (global, or scoped to a service, route and/or consumer), its config
// validated by the plugin's schema (see src/plugin/plugin.hpp).
struct PluginEntry {
  std::string id;
  std::string name;
  bool enabled = true;
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::size_t service = kNone;   // into DeclarativeConfig::services
  std::size_t route = kNone;     // into DeclarativeConfig::routes
  std::size_t consumer = kNone;  // into DeclarativeConfig::consumers
  const plugin::Schema* schema = nullptr;
  std::shared_ptr<const plugin::ParsedConfig> config;
  std::string path;  // "services[0].plugins[1]", for errors
  SourceMark mark;
};

// A whole declarative configuration, validated.
struct DeclarativeConfig {
  std::string format_version;
  std::vector<ServiceConfig> services;
  std::vector<RouteConfig> routes;
  std::vector<UpstreamConfig> upstreams;
  std::vector<ConsumerConfig> consumers;
  std::vector<PluginEntry> plugins;
  std::vector<CertificateConfig> certificates;
  std::vector<SniConfig> snis;
  std::vector<CaCertificateConfig> ca_certificates;
  std::string hash;  // MD5 of the source text, as Kong's configuration_hash
};

// One configuration error: FILE:LINE:COL: path.to.field: message
struct ConfigError {
  std::string file;
  SourceMark mark;
  std::string path;
  std::string message;
  std::string to_string() const;
};

}  // namespace portico::config
