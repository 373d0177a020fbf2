// GET /metrics: the Prometheus exposition of this node (admin listener and --status-listen).
// Kong's families (the prometheus plugin's per-route series, node-level nginx-style gauges,
// target health when a prometheus entry enables upstream_health_metrics) and Portico's own
// counters under the portico_ prefix. See docs/observability.md.
#pragma once

#include <string>

namespace portico {
class Gateway;
}

namespace portico::admin {

std::string metrics_exposition(const Gateway& gateway);
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace portico::admin
