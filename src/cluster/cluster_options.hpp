// Hybrid mode's settings (Kong's names: role, cluster_listen, cluster_control_plane,
// cluster_mtls, cluster_cert, cluster_cert_key, cluster_ca_cert, cluster_server_name,
// cluster_max_payload) and the TLS material they name, loaded and checked at start.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::cluster {

enum class Role { traditional, control_plane, data_plane };
std::optional<Role> parse_role(std::string_view text);
std::string_view role_name(Role role);

struct ClusterOptions {
  Role role = Role::traditional;
  std::string listen = "0.0.0.0:8005";           // control plane: where data planes connect
  std::string control_plane = "127.0.0.1:8005";  // data plane: HOST:PORT of the control plane
  std::string mtls = "shared";                   // shared | pki
  std::string cert, cert_key, ca_cert;           // PEM files
  std::string server_name;                       // data plane, pki: the name the control plane's certificate has
  std::size_t max_payload = 16 * 1024 * 1024;    // a frame's largest payload (the configuration, gzipped)
};

// The certificates the options name, read and checked: a data plane and its control plane
// show each other `cert` (shared: the same certificate on both sides, compared by digest;
// pki: certificates from `ca`).
struct ClusterTls {
  bool pki = false;
  std::string cert_pem, key_pem, ca_pem;
  std::string cert_digest;  // SHA-256 of cert_pem's DER
  std::string server_name;  // pki: checked on the control plane's certificate
};

// Problems with the options for their role, as Kong's configuration checks word them; empty
// when fine. `database` is the node's store: "off" (-c or none), "sqlite" or "postgres".
std::vector<std::string> check_options(const ClusterOptions& options, std::string_view database);
// Reads the certificates; nullopt with `error` naming the option and file.
std::optional<ClusterTls> load_tls(const ClusterOptions& options, std::string& error);

// TLS contexts for the control plane's listener and the data plane's connection: TLS 1.2+,
// the node's certificate, and the peer's certificate asked for (checked by peer_problem).
boost::asio::ssl::context server_context(const ClusterTls& tls);
boost::asio::ssl::context client_context(const ClusterTls& tls);
// After the handshake: "" when the peer's certificate is the one expected (shared: the same
// as ours; pki: verified against the CA by OpenSSL, and, for a data plane checking its control
// plane, carrying the server name); else why not.
std::string peer_problem(SSL* ssl, const ClusterTls& tls);

}  // namespace portico::cluster
