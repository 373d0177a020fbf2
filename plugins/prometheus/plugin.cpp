// The prometheus plugin (Kong's, priority 13): records each request of the routes it applies
// to in Kong's metrics (obs/http_metrics.*), which GET /metrics on the admin listener (and on
// --status-listen) exposes with the gateway's own. See README.md.
//
//   log: requests by status and source (status_code_metrics), latencies (latency_metrics),
//        bytes in and out (bandwidth_metrics), with the consumer's username (per_consumer).
#include "obs/http_metrics.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"
#include "router/router.hpp"

namespace portico::plugin {
namespace {

struct PrometheusConfig : ParsedConfig {
  bool per_consumer = false;
  bool status_code_metrics = false;
  bool ai_metrics = false;    // Kong's AI plugins' metrics: Portico has none, nothing to record
  bool latency_metrics = false;
  bool bandwidth_metrics = false;
  bool upstream_health_metrics = false;  // read by GET /metrics from the configuration
  bool wasm_metrics = false;  // Kong's Wasm filters' metrics: Portico has none
};

const ConfigSchema& config_schema() {
  using C = PrometheusConfig;
  static const ConfigSchemaOf<C> schema(schema::Record<C>()
                                            .field("per_consumer", &C::per_consumer)
                                            .field("status_code_metrics", &C::status_code_metrics)
                                            .field("ai_metrics", &C::ai_metrics)
                                            .field("latency_metrics", &C::latency_metrics)
                                            .field("bandwidth_metrics", &C::bandwidth_metrics)
                                            .field("upstream_health_metrics", &C::upstream_health_metrics)
                                            .field("wasm_metrics", &C::wasm_metrics));
  return schema;
}

class Prometheus final : public Instance {
 public:
  Prometheus(const PrometheusConfig& config, BuildContext&) : config_(config) {}

  void log(RequestContext& ctx) const noexcept override {
    const router::CompiledRoute* route = ctx.route();
    if (route == nullptr) return;  // Kong records only routed requests
    if (!config_.status_code_metrics && !config_.latency_metrics && !config_.bandwidth_metrics) return;
    obs::HttpObservation o;
    if (const auto* service = ctx.service()) o.service = service->name.empty() ? service->host : service->name;
    o.route = route->name.empty() ? route->id : route->name;
    if (config_.per_consumer && ctx.consumer() != nullptr) o.consumer = ctx.consumer()->username;
    const auto& served = ctx.served;
    o.status_codes = config_.status_code_metrics && ctx.status != 0;
    o.status = ctx.status;
    o.from_service = served.from_service;
    o.bandwidth = config_.bandwidth_metrics;
    o.ingress_bytes = served.bytes_received;
    o.egress_bytes = served.bytes_sent;
    o.latencies = config_.latency_metrics;
    o.request_ms = served.request_ms;
    o.upstream_ms = served.upstream_ms;
    o.kong_ms = served.gateway_ms;
    obs::http_metrics::observe(o);
  }

 private:
  const PrometheusConfig& config_;
};

}  // namespace

const Schema& prometheus_schema() {
  static const Schema schema{
      .name = "prometheus",
      .priority = 13,  // Kong's
      .phases = kLog,
      .scopes = kGlobal | kService | kRoute | kConsumer,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate_as<Prometheus, PrometheusConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
