#include "obs/http_metrics.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "obs/prometheus_text.hpp"
#include "obs/sharded_series.hpp"
#include "obs/stats.hpp"

namespace portico::obs::http_metrics {
namespace {

constexpr std::string_view kWorkspace = "default";  // Kong's label; Portico has one workspace

template <std::size_t N>
struct Histogram {
  std::array<Counter, N + 1> buckets;  // the last: above every bound
  std::atomic<double> sum{0};

  void observe(double value, const std::array<double, N>& bounds) {
    std::size_t i = static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin());
    buckets[i].add();
    sum.store(sum.load(std::memory_order_relaxed) + value, std::memory_order_relaxed);  // single writer
  }
};

// Everything recorded for one (service, route, consumer): one lookup per request. The worker
// is its only writer; a scrape reads it concurrently.
struct RouteSeries {
  // Requests by (status, source): slots filled in order by the worker and published by
  // `codes_used` (release), so a scrape reads only complete slots.
  struct CodeCount {
    int status = 0;
    bool from_service = false;
    Counter requests;
  };
  static constexpr std::size_t kMaxCodes = 24;
  std::array<CodeCount, kMaxCodes> codes;
  std::atomic<std::size_t> codes_used{0};
  Histogram<kKongLatencyBuckets.size()> kong;
  Histogram<kUpstreamLatencyBuckets.size()> upstream;
  Histogram<kUpstreamLatencyBuckets.size()> request;
  Counter ingress, egress;

  // The counter of (status, source); null when the route already has kMaxCodes of them.
  Counter* requests_for(int status, bool from_service) {
    std::size_t used = codes_used.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < used; ++i) {
      if (codes[i].status == status && codes[i].from_service == from_service) return &codes[i].requests;
    }
    if (used == kMaxCodes) return nullptr;
    codes[used].status = status;
    codes[used].from_service = from_service;
    codes_used.store(used + 1, std::memory_order_release);
    return &codes[used].requests;
  }
};

ShardedSeries<RouteSeries>& series() {
  static ShardedSeries<RouteSeries> all;  // by service, route, consumer
  return all;
}

template <std::size_t N>
struct MergedHistogram {
  std::array<std::uint64_t, N + 1> counts{};
  double sum = 0;
  void add(const Histogram<N>& h) {
    for (std::size_t i = 0; i <= N; ++i) counts[i] += h.buckets[i].get();
    sum += h.sum.load(std::memory_order_relaxed);
  }
};

}  // namespace

void observe(const HttpObservation& o) {
  if (!o.status_codes && !o.latencies && !o.bandwidth) return;
  RouteSeries* s = series().find({o.service, o.route, o.consumer});
  if (s == nullptr) return;
  if (o.status_codes) {
    if (Counter* c = s->requests_for(o.status, o.from_service)) c->add();
    else count_series_overflow();
  }
  if (o.latencies) {
    if (o.request_ms >= 0) s->request.observe(o.request_ms, kUpstreamLatencyBuckets);
    if (o.upstream_ms >= 0) s->upstream.observe(o.upstream_ms, kUpstreamLatencyBuckets);
    if (o.kong_ms >= 0) s->kong.observe(o.kong_ms, kKongLatencyBuckets);
  }
  if (o.bandwidth) {
    if (o.ingress_bytes > 0) s->ingress.add(o.ingress_bytes);
    if (o.egress_bytes > 0) s->egress.add(o.egress_bytes);
  }
}

void collect(PrometheusText& out) {
  // Merged by labels: requests by service, route, code, source, consumer; bandwidth by
  // service, route, consumer; latencies by service, route (Kong's histograms have no consumer).
  std::map<std::string, std::uint64_t> status;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> bandwidth;
  struct Latency {
    MergedHistogram<kKongLatencyBuckets.size()> kong;
    MergedHistogram<kUpstreamLatencyBuckets.size()> upstream, request;
  };
  std::map<std::string, Latency> latency;
  series().for_each([&](std::string_view key, const RouteSeries& s) {
    auto v = split_series_key(key);  // service, route, consumer
    std::size_t used = s.codes_used.load(std::memory_order_acquire);
    std::string merged_key;
    for (std::size_t i = 0; i < used; ++i) {
      const auto& c = s.codes[i];
      build_series_key(merged_key, {v[0], v[1], std::to_string(c.status), c.from_service ? "service" : "kong", v[2]});
      status[merged_key] += c.requests.get();
    }
    if (s.ingress.get() > 0 || s.egress.get() > 0) {
      auto& bytes = bandwidth[std::string(key)];
      bytes.first += s.ingress.get();
      bytes.second += s.egress.get();
    }
    build_series_key(merged_key, {v[0], v[1]});
    auto& merged = latency[merged_key];
    merged.kong.add(s.kong);
    merged.upstream.add(s.upstream);
    merged.request.add(s.request);
  });

  out.family("kong_bandwidth_bytes", "counter", "Total bandwidth (ingress/egress) throughput in bytes");
  for (const auto& [key, bytes] : bandwidth) {
    auto v = split_series_key(key);  // service, route, consumer
    for (auto [direction, value] : {std::pair<std::string_view, std::uint64_t>{"egress", bytes.second},
                                    std::pair<std::string_view, std::uint64_t>{"ingress", bytes.first}}) {
      if (value == 0) continue;
      Label labels[] = {{"service", v[0]}, {"route", v[1]}, {"direction", direction}, {"workspace", kWorkspace},
                        {"consumer", v[2]}};
      out.sample("kong_bandwidth_bytes", labels, value);
    }
  }
  out.family("kong_http_requests_total", "counter", "HTTP status codes per consumer/service/route in Kong");
  for (const auto& [key, count] : status) {
    auto v = split_series_key(key);  // service, route, code, source, consumer
    Label labels[] = {{"service", v[0]}, {"route", v[1]}, {"code", v[2]}, {"source", v[3]},
                      {"workspace", kWorkspace}, {"consumer", v[4]}};
    out.sample("kong_http_requests_total", labels, count);
  }
  auto histograms = [&](std::string_view name, std::string_view help, auto member, const auto& bounds) {
    out.family(name, "histogram", help);
    for (const auto& [key, merged] : latency) {
      const auto& h = merged.*member;
      std::uint64_t total = 0;
      for (auto c : h.counts) total += c;
      if (total == 0) continue;
      auto v = split_series_key(key);  // service, route
      Label labels[] = {{"service", v[0]}, {"route", v[1]}, {"workspace", kWorkspace}};
      out.histogram(name, labels, bounds, h.counts, h.sum);
    }
  };
  histograms("kong_kong_latency_ms", "Latency added by Kong and enabled plugins for each service/route in Kong",
             &Latency::kong, kKongLatencyBuckets);
  histograms("kong_request_latency_ms", "Total latency incurred during requests for each service/route in Kong",
             &Latency::request, kUpstreamLatencyBuckets);
  histograms("kong_upstream_latency_ms", "Latency added by upstream response for each service/route in Kong",
             &Latency::upstream, kUpstreamLatencyBuckets);
}

}  // namespace portico::obs::http_metrics
