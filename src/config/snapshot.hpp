// An immutable, fully compiled configuration generation.
//
// Built on the control thread from a validated DeclarativeConfig (routes compiled,
// upstream addresses resolved, balancers built), then shared read-only by every worker
// through a shared_ptr<const Snapshot>. A request keeps the snapshot it started with.
// Mutable cross-worker state (health, counters, plugins' shared state) is referenced here but
// owned by the SharedStateRegistry, so it survives reloads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "net/sni_table.hpp"
#include "net/tls_client.hpp"
#include "net/dns_resolver.hpp"
#include "plugin/chain.hpp"
#include "proxy/balancer.hpp"
#include "proxy/shared_state.hpp"
#include "router/router.hpp"

namespace portico::config {

using Endpoint = proxy::Endpoint;

// One configured target of an upstream, as the admin API reports it.
struct TargetRuntime {
  const TargetConfig* config = nullptr;
  std::vector<const Endpoint*> endpoints;  // its resolved addresses in the balancer (none when weight 0)
  std::string dns_error;                   // set when its name did not resolve
};

struct UpstreamRuntime {
  const UpstreamConfig* config = nullptr;
  std::size_t balancer_index = 0;
  std::vector<TargetRuntime> targets;
  std::shared_ptr<proxy::UpstreamState> state;
};

struct ServiceRuntime {
  const ServiceConfig* config = nullptr;
  std::size_t balancer_index = 0;
  const UpstreamRuntime* upstream = nullptr;  // null when the host is not an upstream
  std::string resolve_error;                  // set when no endpoint could be resolved
  // The service's retry budget, shared by workers and kept across reloads that do not
  // change it; null when the service has none (the default, as in Kong).
  std::shared_ptr<proxy::RetryBudget> retry_budget;
  // protocol https: the TLS settings toward the upstream (shared by services with the same
  // settings, kept across snapshots while they do not change); null for http, or when the
  // settings could not be loaded (`tls_error` says why; requests then fail with 502).
  std::shared_ptr<const net::TlsClientContext> tls;
  std::string tls_error;
};

struct Snapshot {
  explicit Snapshot(std::shared_ptr<const DeclarativeConfig> source) : config_owner(std::move(source)), config(*config_owner) {}
  // The configuration, shared (never copied) with whoever handed it over: the Admin API
  // takes its working copy back from it after the write is live, a DNS change rebuilds from it.
  std::shared_ptr<const DeclarativeConfig> config_owner;
  const DeclarativeConfig& config;
  std::unique_ptr<router::Router> router;
  // One balancer per upstream, then one per service whose host is not an upstream. A
  // balancer whose inputs (addresses, weights, algorithm, health settings) did not change is
  // the previous snapshot's own: a change costs what it changes, not the configuration's size.
  std::vector<std::shared_ptr<const proxy::Balancer>> balancers;
  std::vector<UpstreamRuntime> upstreams;  // parallel to config.upstreams
  std::vector<ServiceRuntime> services;    // parallel to config.services
  // Parallel to config.plugins: the configured instance (null when disabled).
  std::vector<std::shared_ptr<const plugin::Instance>> plugin_instances;
  // Parallel to config.routes: the plugins that run for each route, in order.
  std::vector<plugin::Chains> route_chains;
  // Parallel to config.services: the plugins guarding each service on the gateway's own
  // calls to it (plugin::resolve_service_guards).
  std::vector<plugin::Chains> service_guards;
  std::set<std::string> hostnames;  // names whose addresses it uses (re-resolved on TTL expiry)
  // The configured certificates by SNI name, for TLS handshakes started under this snapshot.
  std::shared_ptr<const net::SniTable> sni_table;
  // The upstream TLS contexts by their settings' key (what the next snapshot reuses).
  std::map<std::string, std::shared_ptr<const net::TlsClientContext>> upstream_tls;
  std::uint64_t generation = 0;

  const UpstreamRuntime* find_upstream(std::string_view name_or_id) const;
};

// Host names the snapshot needs addresses for (targets, service hosts that are not
// upstreams, hosts plugins call directly; IP literals and "localhost" excluded).
std::set<std::string> hostnames_to_resolve(const DeclarativeConfig& config);

// The DNS answer for a host name, or nullptr when none is known.
using HostLookup = std::function<const net::DnsAnswer*(const std::string& host)>;

// Builds a snapshot (control thread). Names come from `lookup` (nothing blocks); hosts
// without addresses leave their service or target without endpoints (requests get 503)
// and add a warning to `warnings`. `control` is the control thread's loop, for plugins'
// background work (see plugin::BuildContext). `previous` (the snapshot now serving, or null)
// lends the balancers that did not change.
std::shared_ptr<const Snapshot> build_snapshot(std::shared_ptr<const DeclarativeConfig> config, std::uint64_t generation,
                                               proxy::SharedStateRegistry& shared, const HostLookup& lookup,
                                               std::vector<std::string>& warnings,
                                               boost::asio::io_context* control = nullptr,
                                               const Snapshot* previous = nullptr);

}  // namespace portico::config
