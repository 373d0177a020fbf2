#include "config/snapshot.hpp"

#include "config/loader.hpp"
#include "net/sni_table.hpp"

#include <stdexcept>

#include "plugin/chain.hpp"

#include "net/dns_cache.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <sstream>
#include <spdlog/spdlog.h>

namespace portico::config {
namespace {

// Kong's Host for the upstream: the port is left out when it is the scheme's default.
std::string host_with_port(const std::string& host, int port, std::string_view scheme = "http") {
  if ((port == 80 && scheme == "http") || (port == 443 && scheme == "https")) return host;
  return host + ":" + std::to_string(port);
}

// The addresses of host:port: IP literals as they are, names from the DNS cache.
std::vector<boost::asio::ip::tcp::endpoint> addresses_of(const std::string& host, int port, const HostLookup& lookup,
                                                         std::string& error) {
  std::vector<boost::asio::ip::tcp::endpoint> out;
  auto p = static_cast<unsigned short>(port);
  boost::system::error_code ec;
  auto literal = boost::asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (!ec) {
    out.emplace_back(literal, p);
    return out;
  }
  const net::DnsAnswer* answer = lookup ? lookup(host) : nullptr;
  if (answer == nullptr) {
    error = "name '" + host + "' is not resolved yet";
  } else if (answer->addresses.empty()) {
    error = "name resolution failed for '" + host + "': " + answer->error;
  } else {
    for (const auto& a : answer->addresses) out.emplace_back(a, p);
  }
  return out;
}

std::string pool_key_of(const boost::asio::ip::tcp::endpoint& a) {
  return a.address().to_string() + ":" + std::to_string(a.port());
}

Endpoint make_endpoint(const boost::asio::ip::tcp::endpoint& address, std::string host_header, std::string target,
                       int weight, std::shared_ptr<proxy::TargetHealth> health) {
  Endpoint e;
  e.address = address;
  e.host_header = std::move(host_header);
  e.pool_key = pool_key_of(address);
  e.target = std::move(target);
  e.weight = weight;
  e.health = std::move(health);
  return e;
}

// Everything health state depends on: a reload that changes it starts from "healthy".
std::string healthchecks_key(const Healthchecks& h) {
  std::ostringstream o;
  auto list = [&](const std::vector<int>& v) {
    for (int x : v) o << x << ',';
    o << ';';
  };
  const auto& a = h.active;
  o << a.type << a.http_path << '|' << a.timeout << '|' << a.concurrency << '|' << a.healthy.interval << '|'
    << a.healthy.successes << '|';
  list(a.healthy.http_statuses);
  o << a.unhealthy.interval << '|' << a.unhealthy.http_failures << '|' << a.unhealthy.tcp_failures << '|'
    << a.unhealthy.timeouts << '|';
  list(a.unhealthy.http_statuses);
  const auto& p = h.passive;
  o << p.type << '|' << p.healthy.successes << '|';
  list(p.healthy.http_statuses);
  o << p.unhealthy.http_failures << '|' << p.unhealthy.tcp_failures << '|' << p.unhealthy.timeouts << '|'
    << p.unhealthy.fail_timeout << '|';
  list(p.unhealthy.http_statuses);
  o << h.threshold;
  return o.str();
}

// One instance per enabled plugin entry, then each route's chains.
void build_plugins(Snapshot& snap, proxy::SharedStateRegistry& shared, boost::asio::io_context* control,
                   const HostLookup& lookup) {
  const DeclarativeConfig& cfg = snap.config;
  snap.plugin_instances.resize(cfg.plugins.size());
  for (std::size_t i = 0; i < cfg.plugins.size(); ++i) {
    const PluginEntry& e = cfg.plugins[i];
    if (!e.enabled) continue;
    std::string key = e.name, scope;
    auto add_scope = [&](const char* kind, const std::string& id, const std::string& name) {
      key += std::string("|") + kind + ":" + id;
      scope += (scope.empty() ? "" : ", ") + std::string(kind) + " '" + (name.empty() ? id : name) + "'";
    };
    if (e.service != PluginEntry::kNone) add_scope("service", cfg.services[e.service].id, cfg.services[e.service].name);
    if (e.route != PluginEntry::kNone) add_scope("route", cfg.routes[e.route].id, cfg.routes[e.route].name);
    if (e.consumer != PluginEntry::kNone) add_scope("consumer", cfg.consumers[e.consumer].id, cfg.consumers[e.consumer].username);
    plugin::BuildContext ctx{shared, cfg, key, scope.empty() ? "global" : scope, control};
    ctx.resolve = [&lookup](const std::string& host, int port, std::string& error) {
      return addresses_of(host, port, lookup, error);
    };
    // A plugin that cannot be built fails the whole snapshot (the old one keeps serving):
    // leaving out, say, an auth plugin would open the route.
    snap.plugin_instances[i] = e.schema->instantiate(*e.config, ctx);
    if (!snap.plugin_instances[i]) throw std::runtime_error("plugin '" + e.name + "' (" + ctx.scope_name + ") could not be built");
  }
  snap.route_chains.reserve(cfg.routes.size());
  for (std::size_t ri = 0; ri < cfg.routes.size(); ++ri) {
    snap.route_chains.push_back(plugin::resolve_chains(cfg, snap.plugin_instances, ri));
  }
  snap.service_guards.reserve(cfg.services.size());
  for (std::size_t si = 0; si < cfg.services.size(); ++si) {
    snap.service_guards.push_back(plugin::resolve_service_guards(cfg, snap.plugin_instances, si));
  }
}

}  // namespace

const UpstreamRuntime* Snapshot::find_upstream(std::string_view name_or_id) const {
  for (const auto& u : upstreams) {
    if (u.config->name == name_or_id || u.config->id == name_or_id) return &u;
  }
  return nullptr;
}

std::set<std::string> hostnames_to_resolve(const DeclarativeConfig& config) {
  std::set<std::string> names;
  auto add = [&](const std::string& host) {
    if (host != "localhost" && !net::is_ip_literal(host)) names.insert(host);
  };
  for (const auto& u : config.upstreams) {
    for (const auto& t : u.targets) add(t.host);
  }
  std::unordered_set<std::string_view> upstream_names;
  for (const auto& u : config.upstreams) upstream_names.insert(u.name);
  for (const auto& s : config.services) {
    if (!upstream_names.count(s.host)) add(s.host);
  }
  std::vector<std::string> plugin_hosts;
  for (const auto& e : config.plugins) {
    if (e.enabled && e.schema != nullptr && e.schema->hosts && e.config) e.schema->hosts(*e.config, plugin_hosts);
  }
  for (const auto& h : plugin_hosts) add(h);
  return names;
}

namespace {

// The previous snapshot's runtime entries by entity id, for reuse.
template <typename Runtime>
std::unordered_map<std::string_view, const Runtime*> by_id(const Snapshot* previous,
                                                           const std::vector<Runtime> Snapshot::*list) {
  std::unordered_map<std::string_view, const Runtime*> out;
  if (previous == nullptr) return out;
  out.reserve((previous->*list).size());
  for (const auto& rt : previous->*list) out.emplace(rt.config->id, &rt);
  return out;
}

// The previous balancer of a service that is not an upstream, when its host, port and
// addresses are the same (its endpoints' health is keyed by the service's id and address).
std::shared_ptr<const proxy::Balancer> unchanged_service_balancer(const ServiceConfig& svc,
                                                                  const std::vector<boost::asio::ip::tcp::endpoint>& addrs,
                                                                  const ServiceRuntime* before, const Snapshot& previous) {
  if (before == nullptr || before->upstream != nullptr || before->config->host != svc.host ||
      before->config->port != svc.port || before->config->protocol != svc.protocol) {
    return nullptr;
  }
  const auto& balancer = previous.balancers[before->balancer_index];
  const auto& endpoints = balancer->endpoints();
  if (endpoints.size() != addrs.size()) return nullptr;
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    if (endpoints[i].address != addrs[i]) return nullptr;
  }
  return balancer;
}

// The certificates by SNI name; a certificate whose PEM text did not change keeps the
// previous snapshot's TLS context (building one parses its chain and key).
std::shared_ptr<const net::SniTable> build_sni_table(const DeclarativeConfig& cfg, const Snapshot* previous,
                                                     std::vector<std::string>& warnings) {
  auto table = std::make_shared<net::SniTable>();
  const net::SniTable* before = previous != nullptr ? previous->sni_table.get() : nullptr;
  std::vector<std::shared_ptr<const net::TlsServerContext>> contexts(cfg.certificates.size());
  for (std::size_t i = 0; i < cfg.certificates.size(); ++i) {
    const auto& c = cfg.certificates[i];
    std::string fingerprint = md5_hex(c.cert + "\n" + c.key + "\n" + c.cert_alt + "\n" + c.key_alt);
    auto context = before != nullptr ? before->kept(c.id, fingerprint) : nullptr;
    if (!context) {
      std::string error;
      context = net::TlsServerContext::create({c.cert, c.key, c.cert_alt, c.key_alt}, error);
      if (!context) {
        warnings.push_back("certificate " + c.id + ": " + error);
        continue;
      }
    }
    table->keep(c.id, fingerprint, context);
    contexts[i] = std::move(context);
  }
  for (const auto& s : cfg.snis) {
    if (s.certificate_index < contexts.size() && contexts[s.certificate_index]) table->add(s.name, contexts[s.certificate_index]);
  }
  return table;
}

// A service's upstream TLS context: the one for the same settings in this snapshot or the
// previous one, else a new one. The key covers everything the context is made from.
void attach_upstream_tls(const DeclarativeConfig& cfg, const ServiceConfig& svc, ServiceRuntime& rt, Snapshot& snap,
                         const Snapshot* previous, std::vector<std::string>& warnings) {
  net::TlsClientSettings settings;
  settings.verify = svc.tls_verify.value_or(false);  // Kong: unset takes proxy_ssl_verify, off
  settings.verify_depth = svc.tls_verify_depth >= 0 ? svc.tls_verify_depth : 1;
  settings.http2 = svc.uses_http2();
  std::string key = std::string(settings.verify ? "verify" : "no-verify") + "|" + std::to_string(settings.verify_depth) +
                    (settings.http2 ? "|h2" : "");
  for (const auto& id : svc.ca_certificates) {
    for (const auto& ca : cfg.ca_certificates) {
      if (ca.id != id) continue;
      settings.ca_pems.push_back(ca.cert);
      key += "|ca:" + ca.cert_digest;
    }
  }
  // Kong: the service's own client certificate, else its upstream's.
  const std::string& client_certificate = !svc.client_certificate.empty() || rt.upstream == nullptr
                                              ? svc.client_certificate
                                              : rt.upstream->config->client_certificate;
  if (!client_certificate.empty()) {
    for (const auto& c : cfg.certificates) {
      if (c.id != client_certificate) continue;
      settings.client_cert_pem = c.cert;
      settings.client_key_pem = c.key;
      key += "|client:" + md5_hex(c.cert + "\n" + c.key);
    }
  }
  if (auto it = snap.upstream_tls.find(key); it != snap.upstream_tls.end()) {
    rt.tls = it->second;
    return;
  }
  if (previous != nullptr) {
    if (auto it = previous->upstream_tls.find(key); it != previous->upstream_tls.end()) {
      rt.tls = snap.upstream_tls[key] = it->second;
      return;
    }
  }
  std::string error;
  auto made = net::TlsClientContext::create(settings, error);
  if (!made) {
    rt.tls_error = error;
    warnings.push_back("service '" + svc.name + "': upstream TLS: " + error);
    return;
  }
  rt.tls = snap.upstream_tls[key] = std::move(made);
}

}  // namespace

std::shared_ptr<const Snapshot> build_snapshot(std::shared_ptr<const DeclarativeConfig> config, std::uint64_t generation,
                                               proxy::SharedStateRegistry& shared, const HostLookup& lookup,
                                               std::vector<std::string>& warnings, boost::asio::io_context* control,
                                               const Snapshot* previous) {
  auto t_start = std::chrono::steady_clock::now();
  auto snap = std::make_shared<Snapshot>(std::move(config));
  snap->generation = generation;
  const DeclarativeConfig& cfg = snap->config;
  shared.prune();
  auto upstreams_before = by_id(previous, &Snapshot::upstreams);
  auto services_before = by_id(previous, &Snapshot::services);

  // Upstreams first: each gets a balancer over its targets' addresses.
  snap->upstreams.resize(cfg.upstreams.size());
  for (std::size_t ui = 0; ui < cfg.upstreams.size(); ++ui) {
    const auto& u = cfg.upstreams[ui];
    auto& rt = snap->upstreams[ui];
    rt.config = &u;
    rt.state = shared.upstream_state("upstream:" + u.id);
    std::string health_key = "upstream:" + u.id + "|" + healthchecks_key(u.healthchecks) + "|";
    std::vector<Endpoint> endpoints;
    std::vector<std::size_t> owner;  // endpoint -> target index
    rt.targets.resize(u.targets.size());
    for (std::size_t ti = 0; ti < u.targets.size(); ++ti) {
      const auto& t = u.targets[ti];
      rt.targets[ti].config = &t;
      std::string error;
      auto addrs = addresses_of(t.host, t.port, lookup, error);
      if (!error.empty()) {
        rt.targets[ti].dns_error = error;
        warnings.push_back("upstream '" + u.name + "' target '" + t.target + "': " + error);
      }
      if (t.weight == 0) continue;  // drained
      for (const auto& a : addrs) {
        endpoints.push_back(make_endpoint(a, u.host_header.empty() ? host_with_port(t.host, t.port) : u.host_header,
                                          t.target, t.weight, shared.target_health(health_key + pool_key_of(a))));
        owner.push_back(ti);
      }
    }
    rt.balancer_index = snap->balancers.size();
    auto algorithm = proxy::parse_algorithm(u.algorithm);
    auto trial_after = std::chrono::milliseconds(static_cast<long long>(u.healthchecks.passive.unhealthy.fail_timeout * 1000));
    std::shared_ptr<const proxy::Balancer> balancer;
    if (auto it = upstreams_before.find(u.id); it != upstreams_before.end()) {
      const auto& candidate = previous->balancers[it->second->balancer_index];
      if (candidate->same_inputs(algorithm, endpoints, u.healthchecks.enabled(), u.healthchecks.threshold, trial_after)) {
        balancer = candidate;
      }
    }
    if (!balancer) {
      balancer = std::make_shared<const proxy::Balancer>(algorithm, std::move(endpoints), u.healthchecks.enabled(),
                                                         u.healthchecks.threshold, trial_after);
    }
    snap->balancers.push_back(std::move(balancer));
    const auto& built = snap->balancers.back()->endpoints();
    for (std::size_t i = 0; i < built.size(); ++i) rt.targets[owner[i]].endpoints.push_back(&built[i]);
  }

  std::unordered_map<std::string_view, const UpstreamRuntime*> upstream_by_name;
  for (const auto& u : snap->upstreams) upstream_by_name.emplace(u.config->name, &u);
  snap->services.resize(cfg.services.size());
  for (std::size_t si = 0; si < cfg.services.size(); ++si) {
    const auto& svc = cfg.services[si];
    auto& rt = snap->services[si];
    rt.config = &svc;
    if (svc.retry_budget_percent >= 0) {
      rt.retry_budget = shared.retry_budget("service:" + svc.id, svc.retry_budget_percent, svc.retry_budget_min_per_second);
    }
    if (auto it = upstream_by_name.find(svc.host); it != upstream_by_name.end()) rt.upstream = it->second;
    if (svc.uses_tls()) attach_upstream_tls(cfg, svc, rt, *snap, previous, warnings);
    if (rt.upstream != nullptr) {
      rt.balancer_index = rt.upstream->balancer_index;
      if (snap->balancers[rt.balancer_index]->endpoints().empty()) {
        rt.resolve_error = "failure to get a peer from the ring-balancer";
      }
      continue;
    }
    std::string error;
    auto addrs = addresses_of(svc.host, svc.port, lookup, error);
    if (!error.empty()) {
      warnings.push_back("service '" + svc.name + "': " + error);
      rt.resolve_error = "name resolution failed";
    }
    rt.balancer_index = snap->balancers.size();
    auto before = services_before.find(svc.id);
    auto balancer = before == services_before.end() ? nullptr
                                                     : unchanged_service_balancer(svc, addrs, before->second, *previous);
    if (!balancer) {
      std::vector<Endpoint> endpoints;
      for (const auto& a : addrs) {
        std::string authority = host_with_port(svc.host, svc.port, svc.uses_tls() ? "https" : "http");
        endpoints.push_back(make_endpoint(a, authority, authority, 100,
                                          shared.target_health("service:" + svc.id + "|" + pool_key_of(a))));
      }
      balancer = std::make_shared<const proxy::Balancer>(proxy::Algorithm::round_robin, std::move(endpoints), false, 0);
    }
    snap->balancers.push_back(std::move(balancer));
  }

  auto t_balancers = std::chrono::steady_clock::now();
  build_plugins(*snap, shared, control, lookup);
  auto t_plugins = std::chrono::steady_clock::now();
  snap->router = std::make_unique<router::Router>(cfg);
  auto t_router = std::chrono::steady_clock::now();
  snap->hostnames = hostnames_to_resolve(cfg);
  snap->sni_table = build_sni_table(cfg, previous, warnings);
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  spdlog::debug("snapshot phases: balancers {:.1f} ms, plugins {:.1f} ms, router {:.1f} ms, names {:.1f} ms",
                ms(t_start, t_balancers), ms(t_balancers, t_plugins), ms(t_plugins, t_router),
                ms(t_router, std::chrono::steady_clock::now()));
  return snap;
}

}  // namespace portico::config
