// Hybrid mode on the command line: `portico run`'s --role and --cluster-* options (Kong's
// role and cluster_* properties; environment PORTICO_ROLE, PORTICO_CLUSTER_*) and
// `portico hybrid gen_cert` (Kong's `kong hybrid gen_cert`).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "cluster/cluster_options.hpp"

namespace portico::cluster {

struct ClusterFlags {
  std::string role = "traditional";
  ClusterOptions options;
};
void add_run_options(CLI::App* run, ClusterFlags& flags);

struct GenCertFlags {
  std::string cert = "cluster.crt", key = "cluster.key";
  int days = 1095;
};
void add_hybrid_command(CLI::App& app, GenCertFlags& flags, CLI::App*& gen_cert);
// Writes a self-signed certificate and key for `--cluster-mtls shared`; refuses to overwrite.
// Returns the exit code.
int gen_cert(const GenCertFlags& flags);

}  // namespace portico::cluster
