#include "cluster/cluster_cli.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "net/tls.hpp"

namespace portico::cluster {

void add_run_options(CLI::App* run, ClusterFlags& f) {
  ClusterOptions& o = f.options;
  run->add_option("--role", f.role, "Hybrid mode: traditional, control_plane (serves its configuration to data planes) "
                                    "or data_plane (runs what its control plane sends)")
      ->envname("PORTICO_ROLE")->check(CLI::IsMember({"traditional", "control_plane", "data_plane"}))->capture_default_str();
  run->add_option("--cluster-listen", o.listen, "Control plane: where data planes connect (ADDR:PORT)")
      ->envname("PORTICO_CLUSTER_LISTEN")->capture_default_str();
  run->add_option("--cluster-control-plane", o.control_plane, "Data plane: the control plane's HOST:PORT")
      ->envname("PORTICO_CLUSTER_CONTROL_PLANE")->capture_default_str();
  run->add_option("--cluster-mtls", o.mtls, "shared (one certificate for every node) or pki (certificates from a CA)")
      ->envname("PORTICO_CLUSTER_MTLS")->check(CLI::IsMember({"shared", "pki"}))->capture_default_str();
  run->add_option("--cluster-cert", o.cert, "PEM certificate this node shows in the cluster")->envname("PORTICO_CLUSTER_CERT");
  run->add_option("--cluster-cert-key", o.cert_key, "PEM private key of --cluster-cert")->envname("PORTICO_CLUSTER_CERT_KEY");
  run->add_option("--cluster-ca-cert", o.ca_cert, "pki: the CA (PEM) that signs the nodes' certificates")
      ->envname("PORTICO_CLUSTER_CA_CERT");
  run->add_option("--cluster-server-name", o.server_name,
                  "Data plane, pki: the name the control plane's certificate carries (default: --cluster-control-plane's host)")
      ->envname("PORTICO_CLUSTER_SERVER_NAME");
  run->add_option("--cluster-max-payload", o.max_payload, "Largest configuration message in bytes (gzipped)")
      ->envname("PORTICO_CLUSTER_MAX_PAYLOAD")->capture_default_str();
}

void add_hybrid_command(CLI::App& app, GenCertFlags& flags, CLI::App*& gen_cert_cmd) {
  auto* hybrid = app.add_subcommand("hybrid", "Hybrid mode tools (Kong's)");
  hybrid->require_subcommand(1);
  gen_cert_cmd = hybrid->add_subcommand("gen_cert", "Write a certificate and key for --cluster-mtls shared");
  gen_cert_cmd->add_option("cert", flags.cert, "Certificate file")->capture_default_str();
  gen_cert_cmd->add_option("key", flags.key, "Key file")->capture_default_str();
  gen_cert_cmd->add_option("-d,--days", flags.days, "Days the certificate is valid")->check(CLI::Range(1, 36500))->capture_default_str();
}

int gen_cert(const GenCertFlags& flags) {
  for (const auto& path : {flags.cert, flags.key}) {
    if (std::filesystem::exists(path)) {
      std::fprintf(stderr, "%s already exists; not overwritten\n", path.c_str());
      return 1;
    }
  }
  // Kong's: EC P-384, CN=kong_clustering; here the name says whose.
  net::TlsCertificate made = net::self_signed_certificate("P-384", "portico_clustering", flags.days, "");
  // Created with their final modes, never over an existing file (O_EXCL).
  auto write = [](const std::string& path, const std::string& text, mode_t mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0) return false;
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    return ::close(fd) == 0 && ok;
  };
  if (!write(flags.key, made.key_pem, 0600) || !write(flags.cert, made.cert_pem, 0644)) {
    std::fprintf(stderr, "could not write %s and %s\n", flags.cert.c_str(), flags.key.c_str());
    return 1;
  }
  std::printf("Successfully generated certificate/key pairs, they have been written to: '%s' and '%s'.\n",
              flags.cert.c_str(), flags.key.c_str());
  return 0;
}

}  // namespace portico::cluster
