#include "cluster/cluster_options.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "net/tls.hpp"

namespace portico::cluster {

namespace ssl = boost::asio::ssl;

std::optional<Role> parse_role(std::string_view text) {
  if (text == "traditional") return Role::traditional;
  if (text == "control_plane") return Role::control_plane;
  if (text == "data_plane") return Role::data_plane;
  return std::nullopt;
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::control_plane: return "control_plane";
    case Role::data_plane: return "data_plane";
    default: return "traditional";
  }
}

std::vector<std::string> check_options(const ClusterOptions& o, std::string_view database) {
  std::vector<std::string> problems;
  if (o.role == Role::traditional) return problems;
  if (o.cert.empty() || o.cert_key.empty()) {
    problems.emplace_back("cluster certificate and key must be provided to use Hybrid mode (--cluster-cert, --cluster-cert-key)");
  }
  if (o.mtls != "shared" && o.mtls != "pki") problems.emplace_back("--cluster-mtls: expected shared or pki");
  if (o.mtls == "pki" && o.ca_cert.empty()) problems.emplace_back("cluster_ca_cert must be specified when cluster_mtls = \"pki\"");
  if (o.max_payload < 4 * 1024 * 1024) problems.emplace_back("cluster_max_payload must be 4194304 (4MB) or greater");
  if (o.role == Role::control_plane) {
    if (database == "off") {
      problems.emplace_back("in-memory storage can not be used when role = \"control_plane\" (give --database or --data-dir, not -c)");
    }
    if (o.listen.empty() || o.listen == "off") problems.emplace_back("cluster_listen must be specified when role = \"control_plane\"");
  } else {
    if (database != "off") {
      problems.emplace_back("only in-memory storage can be used when role = \"data_plane\" (a data plane gets its "
                            "configuration from the control plane: no --database, no -c)");
    }
    if (o.control_plane.empty()) problems.emplace_back("--cluster-control-plane must be specified when role = \"data_plane\"");
  }
  return problems;
}

std::optional<ClusterTls> load_tls(const ClusterOptions& o, std::string& error) {
  ClusterTls tls;
  tls.pki = o.mtls == "pki";
  std::string why;
  if (!net::read_pem_file(o.cert, tls.cert_pem, why) || !net::certificate_problem(tls.cert_pem).empty()) {
    error = "cluster_cert: failed loading certificate from " + o.cert + (why.empty() ? "" : ": " + why);
    return std::nullopt;
  }
  if (!net::read_pem_file(o.cert_key, tls.key_pem, why) || !net::key_problem(tls.key_pem).empty()) {
    error = "cluster_cert_key: failed loading key from " + o.cert_key + (why.empty() ? "" : ": " + why);
    return std::nullopt;
  }
  if (!net::certificate_matches_key(tls.cert_pem, tls.key_pem)) {
    error = "cluster_cert_key: the key is not the one of cluster_cert";
    return std::nullopt;
  }
  if (tls.pki && (!net::read_pem_file(o.ca_cert, tls.ca_pem, why) || !net::certificate_problem(tls.ca_pem).empty())) {
    error = "cluster_ca_cert: failed loading certificate from " + o.ca_cert + (why.empty() ? "" : ": " + why);
    return std::nullopt;
  }
  tls.cert_digest = net::certificate_digest(tls.cert_pem);
  tls.server_name = o.server_name;
  if (tls.server_name.empty()) tls.server_name = o.control_plane.substr(0, o.control_plane.rfind(':'));
  if (tls.server_name.size() > 2 && tls.server_name.front() == '[' && tls.server_name.back() == ']') {
    tls.server_name = tls.server_name.substr(1, tls.server_name.size() - 2);  // an IPv6 address
  }
  return tls;
}

namespace {

void configure(ssl::context& ctx, const ClusterTls& tls, bool server) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  std::string error;
  if (!net::use_certificate_chain(ctx.native_handle(), tls.cert_pem, error) ||
      !net::use_private_key(ctx.native_handle(), tls.key_pem, error)) {
    throw std::runtime_error("cluster certificate: " + error);
  }
  if (tls.pki) {
    ctx.add_certificate_authority(boost::asio::buffer(tls.ca_pem));
    ctx.set_verify_mode(ssl::verify_peer | (server ? ssl::verify_fail_if_no_peer_cert : 0));
  } else {
    // shared: any certificate gets through the handshake; peer_problem() then requires ours.
    ctx.set_verify_mode(ssl::verify_peer | (server ? ssl::verify_fail_if_no_peer_cert : 0));
    ctx.set_verify_callback([](bool, ssl::verify_context&) { return true; });
  }
}

std::string der_digest(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return net::certificate_digest(pem);
}

}  // namespace

ssl::context server_context(const ClusterTls& tls) {
  ssl::context ctx(ssl::context::tls_server);
  configure(ctx, tls, true);
  return ctx;
}

ssl::context client_context(const ClusterTls& tls) {
  ssl::context ctx(ssl::context::tls_client);
  configure(ctx, tls, false);
  return ctx;
}

std::string peer_problem(SSL* ssl, const ClusterTls& tls) {
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (peer == nullptr) return "no certificate presented";
  std::string problem;
  if (!tls.pki) {
    if (der_digest(peer) != tls.cert_digest) problem = "its certificate is not the cluster certificate (digest does not match)";
  } else if (SSL_get_verify_result(ssl) != X509_V_OK) {
    problem = std::string("its certificate was refused: ") + X509_verify_cert_error_string(SSL_get_verify_result(ssl));
  } else if (!SSL_is_server(ssl) && X509_check_host(peer, tls.server_name.data(), tls.server_name.size(), 0, nullptr) != 1 &&
             X509_check_ip_asc(peer, tls.server_name.c_str(), 0) != 1) {
    problem = "its certificate is not for " + tls.server_name;
  }
  X509_free(peer);
  return problem;
}

}  // namespace portico::cluster
