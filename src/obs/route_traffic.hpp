// What the dashboard shows of each route's traffic: requests, answers by class (4xx, 5xx) and a
// latency histogram fine enough for p50/p95/p99, recorded for every request the proxy answers,
// whatever plugins the route has (Kong's prometheus plugin records only where it is configured;
// the dashboard must see every route).
//
// Per worker thread without a lock (sharded_series.hpp), keyed by (service, route); requests
// that matched no route count under ("", ""). Its bound is its own (50,000 series per worker),
// not --metrics-max-series. Recording is off until enable() is called (the
// Admin API's dashboard does, when an admin listener exists): a data plane without an Admin API
// pays nothing.
//
// The histogram is log-linear over microseconds: four buckets per power of two (each at most
// 25% wide), from 0 to 2^28 us (268 s; longer requests count in the last bucket); a percentile
// is interpolated within its bucket.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "obs/stats.hpp"

namespace portico::obs::route_traffic {

inline constexpr std::size_t kBuckets = 108;
using Histogram = std::array<std::uint64_t, kBuckets>;

// The bucket of a latency in microseconds, and a bucket's bounds [lower, upper) in microseconds.
std::size_t bucket_of(std::uint64_t micros);
std::uint64_t bucket_lower(std::size_t bucket);
std::uint64_t bucket_upper(std::size_t bucket);
// The q-quantile (0 < q <= 1) of a histogram, in milliseconds; 0 when it is empty.
double percentile_ms(const Histogram& histogram, double q);

void enable();
bool enabled();
// Requests not recorded because a worker already holds its maximum of (service, route) series.
std::uint64_t overflows();

// Records one answered request on the calling thread's shard.
void observe(std::string_view service, std::string_view route, int status, std::uint64_t micros);

// Everything recorded since start, merged over the workers.
struct Totals {
  std::uint64_t requests = 0, client_errors = 0, server_errors = 0;
  Histogram latency{};
  void add(const Totals& other);
};
// Keyed by the series key: service '\0' route '\0' (split_series_key splits it).
std::unordered_map<std::string, Totals> collect();

}  // namespace portico::obs::route_traffic
