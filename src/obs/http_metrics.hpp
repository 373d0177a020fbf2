// Kong's per-route HTTP metrics (what the prometheus plugin records): requests by status and
// source, Kong's three latency histograms, bandwidth by direction.
//
// Each worker thread records into its own shard (found through a thread_local pointer, made
// on first use): one lookup by (service, route, consumer) in the shard's map finds everything
// the request adds to (requests by status and source, histograms, bandwidth), then relaxed
// single-writer counter stores: no lock and no allocation once the series exists. A new series
// is created under the shard's mutex, which a scrape takes while it reads that shard; a
// scrape merges every shard's series by labels. (service, route, consumer) series per shard
// are capped (max_series), and so are the (status, source) pairs per series (24); an
// observation that would need one more is dropped and counted (series_overflows()).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace portico::obs {

class PrometheusText;

// Kong's buckets (kong/plugins/prometheus/exporter.lua), in milliseconds.
inline constexpr std::array<double, 17> kKongLatencyBuckets{1,  2,  5,   7,   10,  15,   20,   30,  50,
                                                             75, 100, 200, 500, 750, 1000, 3000, 6000};
inline constexpr std::array<double, 13> kUpstreamLatencyBuckets{25,   50,   80,    100,   250,   400,  700,
                                                                 1000, 2000, 5000, 10000, 30000, 60000};

struct HttpObservation {
  std::string_view service;   // name, else host (Kong's); empty for service-less routes
  std::string_view route;     // name, else id
  std::string_view consumer;  // username with per_consumer, else empty
  // Each part is recorded only when its flag is set (the plugin's *_metrics fields).
  bool status_codes = false;
  int status = 0;
  bool from_service = false;  // source="service", else "kong"
  bool bandwidth = false;
  std::uint64_t ingress_bytes = 0, egress_bytes = 0;
  bool latencies = false;
  double request_ms = -1, upstream_ms = -1, kong_ms = -1;  // -1: not measured
};

namespace http_metrics {

// Records on the calling thread's shard.
void observe(const HttpObservation& observation);
// Appends Kong's families (kong_http_requests_total, kong_kong_latency_ms,
// kong_upstream_latency_ms, kong_request_latency_ms, kong_bandwidth_bytes), merged.
void collect(PrometheusText& out);

}  // namespace http_metrics
}  // namespace portico::obs
