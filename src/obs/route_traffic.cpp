#include "obs/route_traffic.hpp"

#include <algorithm>
#include <atomic>
#include <bit>

#include "obs/sharded_series.hpp"

namespace portico::obs::route_traffic {
namespace {

struct Series {
  Counter requests, client_errors, server_errors;
  std::array<Counter, kBuckets> latency;
};

std::atomic<bool> g_enabled{false};
std::atomic<std::uint64_t> g_overflows{0};

// Its own bound (not --metrics-max-series, which is the prometheus plugin's): per worker, about
// 0.9 KB a series.
constexpr std::size_t kMaxSeriesPerWorker = 50000;

ShardedSeries<Series>& family() {
  static ShardedSeries<Series> series(kMaxSeriesPerWorker, &g_overflows);
  return series;
}

}  // namespace

std::size_t bucket_of(std::uint64_t micros) {
  if (micros < 4) return static_cast<std::size_t>(micros);
  const auto power = static_cast<std::size_t>(std::bit_width(micros) - 1);  // micros in [2^power, 2^(power+1))
  const std::size_t sub = static_cast<std::size_t>(micros >> (power - 2)) - 4;  // which quarter
  return std::min(4 * (power - 1) + sub, kBuckets - 1);
}

std::uint64_t bucket_lower(std::size_t bucket) {
  if (bucket < 4) return bucket;
  const std::size_t power = bucket / 4 + 1, sub = bucket % 4;
  return std::uint64_t{4 + sub} << (power - 2);
}

std::uint64_t bucket_upper(std::size_t bucket) {
  if (bucket < 4) return bucket + 1;
  const std::size_t power = bucket / 4 + 1, sub = bucket % 4;
  return std::uint64_t{5 + sub} << (power - 2);
}

double percentile_ms(const Histogram& histogram, double q) {
  std::uint64_t total = 0;
  for (auto n : histogram) total += n;
  if (total == 0) return 0;
  const double rank = q * static_cast<double>(total);
  double seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    if (histogram[i] == 0) continue;
    const double here = static_cast<double>(histogram[i]);
    if (seen + here >= rank) {
      const double within = (rank - seen) / here;  // how far into the bucket the rank falls
      const double lower = static_cast<double>(bucket_lower(i)), upper = static_cast<double>(bucket_upper(i));
      return (lower + within * (upper - lower)) / 1000.0;
    }
    seen += here;
  }
  return static_cast<double>(bucket_upper(kBuckets - 1)) / 1000.0;
}

void enable() { g_enabled.store(true, std::memory_order_relaxed); }
std::uint64_t overflows() { return g_overflows.load(std::memory_order_relaxed); }
bool enabled() { return g_enabled.load(std::memory_order_relaxed); }

void observe(std::string_view service, std::string_view route, int status, std::uint64_t micros) {
  Series* s = family().find({service, route});
  if (s == nullptr) return;  // the shard is full: counted in overflows()
  s->requests.add();
  if (status >= 500) s->server_errors.add();
  else if (status >= 400) s->client_errors.add();
  s->latency[bucket_of(micros)].add();
}

void Totals::add(const Totals& other) {
  requests += other.requests;
  client_errors += other.client_errors;
  server_errors += other.server_errors;
  for (std::size_t i = 0; i < kBuckets; ++i) latency[i] += other.latency[i];
}

std::unordered_map<std::string, Totals> collect() {
  std::unordered_map<std::string, Totals> merged;
  family().for_each([&](std::string_view key, const Series& s) {
    Totals& t = merged[std::string(key)];
    t.requests += s.requests.get();
    t.client_errors += s.client_errors.get();
    t.server_errors += s.server_errors.get();
    for (std::size_t i = 0; i < kBuckets; ++i) t.latency[i] += s.latency[i].get();
  });
  return merged;
}

}  // namespace portico::obs::route_traffic
