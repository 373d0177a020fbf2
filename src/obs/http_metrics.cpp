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

struct StatusSeries {
  Counter requests;
};
struct LatencySeries {
  Histogram<kKongLatencyBuckets.size()> kong;
  Histogram<kUpstreamLatencyBuckets.size()> upstream;
  Histogram<kUpstreamLatencyBuckets.size()> request;
};
struct BandwidthSeries {
  Counter ingress, egress;
};

struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <typename Series>
using SeriesMap = std::unordered_map<std::string, std::unique_ptr<Series>, KeyHash, std::equal_to<>>;

struct Registry {
  std::mutex mutex;
  std::vector<std::unique_ptr<struct Shard>> shards;
  std::atomic<std::size_t> max_series{10000};
  std::atomic<std::uint64_t> overflows{0};
};

struct Shard {
  // Taken to add a series (by the owning worker) and to read the shard (by a scrape). The
  // worker's lookups need no lock: only the worker changes its maps.
  std::mutex mutex;
  SeriesMap<StatusSeries> status;
  SeriesMap<LatencySeries> latency;
  SeriesMap<BandwidthSeries> bandwidth;
  std::string key;  // scratch for building keys without allocating
};

Registry& registry() {
  static Registry r;
  return r;
}

Shard& this_thread_shard() {
  thread_local Shard* shard = nullptr;
  if (shard == nullptr) {
    auto made = std::make_unique<Shard>();
    shard = made.get();
    std::lock_guard lock(registry().mutex);
    registry().shards.push_back(std::move(made));
  }
  return *shard;
}

// The series for `key`, created when missing and the cap allows; null (counted) otherwise.
template <typename Series>
Series* series_for(Shard& shard, SeriesMap<Series>& map, std::string_view key) {
  auto it = map.find(key);
  if (it != map.end()) return it->second.get();
  if (map.size() >= registry().max_series.load(std::memory_order_relaxed)) {
    registry().overflows.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  std::lock_guard lock(shard.mutex);
  return map.emplace(std::string(key), std::make_unique<Series>()).first->second.get();
}

// Keys are the label values joined with '\0'.
void build_key(std::string& key, std::initializer_list<std::string_view> parts) {
  key.clear();
  for (auto part : parts) key.append(part).push_back('\0');
}

std::vector<std::string_view> split_key(std::string_view key) {
  std::vector<std::string_view> parts;
  while (!key.empty()) {
    std::size_t zero = key.find('\0');
    parts.push_back(key.substr(0, zero));
    key.remove_prefix(zero + 1);
  }
  return parts;
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
  Shard& shard = this_thread_shard();
  if (o.status_codes) {
    char code[8];
    auto end = std::to_chars(code, code + sizeof code, o.status).ptr;
    build_key(shard.key, {o.service, o.route, std::string_view(code, static_cast<std::size_t>(end - code)),
                          o.from_service ? "service" : "kong", o.consumer});
    if (auto* s = series_for(shard, shard.status, shard.key)) s->requests.add();
  }
  if (o.latencies) {
    build_key(shard.key, {o.service, o.route});
    if (auto* s = series_for(shard, shard.latency, shard.key)) {
      if (o.request_ms >= 0) s->request.observe(o.request_ms, kUpstreamLatencyBuckets);
      if (o.upstream_ms >= 0) s->upstream.observe(o.upstream_ms, kUpstreamLatencyBuckets);
      if (o.kong_ms >= 0) s->kong.observe(o.kong_ms, kKongLatencyBuckets);
    }
  }
  if (o.bandwidth && (o.ingress_bytes > 0 || o.egress_bytes > 0)) {
    build_key(shard.key, {o.service, o.route, o.consumer});
    if (auto* s = series_for(shard, shard.bandwidth, shard.key)) {
      if (o.ingress_bytes > 0) s->ingress.add(o.ingress_bytes);
      if (o.egress_bytes > 0) s->egress.add(o.egress_bytes);
    }
  }
}

void collect(PrometheusText& out) {
  std::map<std::string, std::uint64_t> status;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> bandwidth;
  struct Latency {
    MergedHistogram<kKongLatencyBuckets.size()> kong;
    MergedHistogram<kUpstreamLatencyBuckets.size()> upstream, request;
  };
  std::map<std::string, Latency> latency;
  {
    std::lock_guard registry_lock(registry().mutex);
    for (const auto& shard : registry().shards) {
      std::lock_guard lock(shard->mutex);
      for (const auto& [key, s] : shard->status) status[key] += s->requests.get();
      for (const auto& [key, s] : shard->bandwidth) {
        auto& merged = bandwidth[key];
        merged.first += s->ingress.get();
        merged.second += s->egress.get();
      }
      for (const auto& [key, s] : shard->latency) {
        auto& merged = latency[key];
        merged.kong.add(s->kong);
        merged.upstream.add(s->upstream);
        merged.request.add(s->request);
      }
    }
  }

  out.family("kong_bandwidth_bytes", "counter", "Total bandwidth (ingress/egress) throughput in bytes");
  for (const auto& [key, bytes] : bandwidth) {
    auto v = split_key(key);  // service, route, consumer
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
    auto v = split_key(key);  // service, route, code, source, consumer
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
      auto v = split_key(key);  // service, route
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

void set_max_series(std::size_t max) { registry().max_series.store(max, std::memory_order_relaxed); }

std::uint64_t series_overflows() { return registry().overflows.load(std::memory_order_relaxed); }

}  // namespace portico::obs::http_metrics
