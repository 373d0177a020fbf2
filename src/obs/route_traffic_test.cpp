#include "obs/route_traffic.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "obs/sharded_series.hpp"

namespace portico::obs::route_traffic {
namespace {

TEST(RouteTrafficBuckets, CoverEveryLatencyContiguouslyAndAtMostAQuarterWide) {
  for (std::uint64_t us : {0ull, 1ull, 3ull, 4ull, 7ull, 8ull, 15ull, 999ull, 1000ull, 123456ull, 99999999ull}) {
    std::size_t b = bucket_of(us);
    EXPECT_LE(bucket_lower(b), us) << us;
    EXPECT_LT(us, bucket_upper(b)) << us;
  }
  for (std::size_t b = 0; b + 1 < kBuckets; ++b) {
    EXPECT_EQ(bucket_upper(b), bucket_lower(b + 1)) << b;  // no gap, no overlap
    if (b >= 4) {
      EXPECT_LE(bucket_upper(b) - bucket_lower(b), bucket_lower(b) / 4) << b;
    }
  }
  EXPECT_EQ(bucket_of(~0ull), kBuckets - 1);  // beyond the last bound: the last bucket
}

TEST(RouteTrafficPercentiles, FallInTheBucketOfTheRank) {
  Histogram h{};
  EXPECT_EQ(percentile_ms(h, 0.5), 0);
  for (int i = 0; i < 90; ++i) h[bucket_of(1000)]++;  // 90 requests at 1 ms
  for (int i = 0; i < 10; ++i) h[bucket_of(50000)]++;  // 10 at 50 ms
  double p50 = percentile_ms(h, 0.50), p95 = percentile_ms(h, 0.95), p99 = percentile_ms(h, 0.99);
  EXPECT_GE(p50, 0.8);
  EXPECT_LE(p50, 1.3);
  EXPECT_GE(p95, 40.0);
  EXPECT_LE(p95, 60.0);
  EXPECT_GE(p99, p95);
  EXPECT_LE(p99, 60.0);
}

TEST(RouteTrafficRecorder, MergesTheWorkersSeriesByRoute) {
  enable();
  auto before = collect();
  std::string key_a, key_none;
  build_series_key(key_a, {"svc-test", "route-test-a"});
  build_series_key(key_none, {"", ""});
  auto count = [](const std::unordered_map<std::string, Totals>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? Totals{} : it->second;
  };
  std::thread worker([] {
    observe("svc-test", "route-test-a", 200, 1500);
    observe("svc-test", "route-test-a", 503, 2500);
  });
  worker.join();
  observe("svc-test", "route-test-a", 404, 100);
  observe("", "", 404, 10);
  auto after = collect();
  Totals a = count(after, key_a), a0 = count(before, key_a);
  EXPECT_EQ(a.requests - a0.requests, 3u);
  EXPECT_EQ(a.client_errors - a0.client_errors, 1u);
  EXPECT_EQ(a.server_errors - a0.server_errors, 1u);
  EXPECT_EQ(a.latency[bucket_of(1500)] - a0.latency[bucket_of(1500)], 1u);
  EXPECT_EQ(count(after, key_none).requests - count(before, key_none).requests, 1u);
}

}  // namespace
}  // namespace portico::obs::route_traffic
