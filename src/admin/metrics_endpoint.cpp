#include "admin/metrics_endpoint.hpp"

#include <boost/json.hpp>

#include "config/snapshot.hpp"
#include "core/gateway.hpp"
#include "obs/counter_family.hpp"
#include "obs/http_metrics.hpp"
#include "obs/sharded_series.hpp"
#include "obs/prometheus_text.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/counters.hpp"
#include "plugin/plugin.hpp"
#include "plugin/registry.hpp"
#include "proxy/target_health.hpp"

namespace portico::admin {
namespace {

using obs::Label;

// Kong exports target health only when an enabled prometheus entry asks for it.
bool upstream_health_wanted(const config::Snapshot& snap) {
  for (const auto& entry : snap.config.plugins) {
    if (!entry.enabled || entry.name != "prometheus" || !entry.config || !entry.schema) continue;
    auto written = entry.schema->config->write(*entry.config);
    if (const auto* v = written.if_contains("upstream_health_metrics"); v && v->is_bool() && v->as_bool()) return true;
  }
  return false;
}

void target_health(obs::PrometheusText& out, const config::Snapshot& snap) {
  out.family("kong_upstream_target_health", "gauge",
             "Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, "
             "value is 1 when state is populated.");
  static constexpr std::string_view kStates[] = {"healthchecks_off", "healthy", "unhealthy", "dns_error"};
  auto write = [&](std::string_view upstream, std::string_view target, std::string_view address,
                   std::string_view state) {
    for (auto s : kStates) {
      Label labels[] = {{"upstream", upstream}, {"target", target}, {"address", address}, {"state", s},
                        {"subsystem", "http"}};
      out.sample("kong_upstream_target_health", labels, std::uint64_t{s == state ? 1u : 0u});
    }
  };
  for (const auto& u : snap.upstreams) {
    bool checks_on = u.config->healthchecks.enabled();
    for (const auto& t : u.targets) {
      if (!t.dns_error.empty() || t.endpoints.empty()) {
        write(u.config->name, t.config->target, "", "dns_error");
        continue;
      }
      for (const auto* e : t.endpoints) {
        std::string_view state = !checks_on ? "healthchecks_off" : e->health->healthy() ? "healthy" : "unhealthy";
        write(u.config->name, t.config->target, e->pool_key, state);
      }
    }
  }
}

}  // namespace

std::string metrics_exposition(const Gateway& gateway) {
  obs::PrometheusText out;
  obs::http_metrics::collect(out);

  const auto totals = gateway.totals();
  const std::string& node = gateway.node_id();
  out.family("kong_datastore_reachable", "gauge", "Datastore reachable from Kong, 0 is unreachable");
  out.sample("kong_datastore_reachable", {}, std::uint64_t{1});  // DB-less file or the embedded store
  out.family("kong_nginx_connections_total", "gauge", "Number of connections by subsystem");
  std::pair<std::string_view, std::uint64_t> connections[] = {
      {"accepted", totals.connections_accepted}, {"active", totals.connections_active},
      {"handled", totals.connections_handled},   {"reading", totals.connections_reading},
      {"total", totals.total_requests},          {"waiting", totals.connections_waiting},
      {"writing", totals.connections_writing}};
  for (auto [state, value] : connections) {
    Label labels[] = {{"node_id", node}, {"subsystem", "http"}, {"state", state}};
    out.sample("kong_nginx_connections_total", labels, value);
  }
  out.family("kong_nginx_requests_total", "gauge", "Number of requests total");
  Label node_http[] = {{"node_id", node}, {"subsystem", "http"}};
  out.sample("kong_nginx_requests_total", node_http, totals.total_requests);
  out.family("kong_node_info", "gauge", "Kong Node metadata information");
  Label info[] = {{"node_id", node}, {"version", PORTICO_VERSION}};
  out.sample("kong_node_info", info, std::uint64_t{1});
  const auto& snap = gateway.snapshot();
  if (snap && upstream_health_wanted(*snap)) target_health(out, *snap);

  // Portico's own: the gateway's counters, then the plugins'.
  auto counter = [&](std::string_view name, std::string_view help, std::uint64_t value) {
    std::string full = "portico_" + std::string(name) + "_total";
    out.family(full, "counter", help);
    out.sample(full, {}, value);
  };
  counter("connections_refused", "Client connections refused over the per-worker or per-client-address limit", totals.connections_refused);
  counter("responses_4xx", "Answers with a 4xx status", totals.responses_4xx);
  counter("responses_5xx", "Answers with a 5xx status", totals.responses_5xx);
  counter("bad_requests", "Requests rejected by the HTTP/1 policy", totals.bad_requests);
  counter("tls_handshake_failures", "TLS handshakes that failed or timed out on ssl listeners",
          totals.tls_handshake_failures);
  counter("http2_connections", "Client connections that spoke HTTP/2", totals.http2_connections);
  counter("http2_abuse_closed", "HTTP/2 connections closed by a defence (floods, HPACK bombs, stalls)",
          totals.http2_abuse_closed);
  counter("upstream_connects", "New upstream connections", totals.upstream_connects);
  counter("upstream_reused", "Requests sent on a kept-alive upstream connection", totals.upstream_reused);
  counter("upstream_retries", "Upstream attempts repeated after a failure", totals.upstream_retries);
  counter("upstream_connect_failures", "Upstream connections that failed", totals.upstream_connect_failures);
  counter("upstream_timeouts", "Upstream connect, write or read timeouts", totals.upstream_timeouts);
  counter("upstream_invalid_responses", "Malformed or broken upstream responses", totals.upstream_invalid_responses);
  counter("retry_budget_exhausted", "Retries refused by a retry budget", totals.retry_budget_exhausted);
  counter("upstream_overflows", "Requests shed by an upstream's max_* limits", totals.upstream_overflows);
  counter("health_transitions", "Targets marked healthy or unhealthy", proxy::TargetHealth::transitions_total());
  counter("config_activations", "Configurations activated (start, reloads, Admin API changes, DNS changes)",
          gateway.config_activations());
  counter("config_rejections", "Configurations refused (invalid file on reload, failed build)",
          gateway.config_rejections());
  counter("metrics_series_overflow", "Observations dropped because a metric reached its series cap",
          obs::series_overflows());
  for (const auto& [name, value] : plugin::counter_values()) counter(name, "Plugin counter (see docs/operations.md)", value);
  obs::CounterFamily::collect_all(out);
  // Plugins' own gauges, from their live instances.
  if (snap) {
    for (const plugin::Schema* schema : plugin::all_schemas()) {
      if (!schema->metrics) continue;
      plugin::PluginInstances instances;
      for (std::size_t i = 0; i < snap->config.plugins.size(); ++i) {
        if (snap->config.plugins[i].name == schema->name) {
          instances.emplace_back(&snap->config.plugins[i], snap->plugin_instances[i].get());
        }
      }
      schema->metrics(instances, out);
    }
  }
  out.family("portico_connections_parked", "gauge",
             "Idle client connections parked (waiting without a coroutine frame or pooled buffer)");
  out.sample("portico_connections_parked", {}, totals.connections_parked);
  out.family("portico_config_last_activation_seconds", "gauge", "Unix time the running configuration was activated");
  out.sample("portico_config_last_activation_seconds", {}, gateway.last_activation_unix());
  return out.take();
}

}  // namespace portico::admin
