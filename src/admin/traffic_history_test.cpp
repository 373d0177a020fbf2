#include "admin/traffic_history.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "obs/sharded_series.hpp"

namespace portico::admin {
namespace {

namespace json = boost::json;
using obs::route_traffic::Totals;
using Readings = std::unordered_map<std::string, Totals>;

std::string key(std::string_view service, std::string_view route) {
  std::string k;
  obs::build_series_key(k, {service, route});
  return k;
}

// Adds `n` requests of `status` at `micros` to the cumulative reading of (service, route).
void add(Readings& r, std::string_view service, std::string_view route, int n, int status, std::uint64_t micros) {
  Totals& t = r[key(service, route)];
  t.requests += static_cast<std::uint64_t>(n);
  if (status >= 500) t.server_errors += static_cast<std::uint64_t>(n);
  else if (status >= 400) t.client_errors += static_cast<std::uint64_t>(n);
  t.latency[obs::route_traffic::bucket_of(micros)] += static_cast<std::uint64_t>(n);
}

const json::object* find_named(const json::array& list, std::string_view name) {
  for (const auto& v : list) {
    if (v.as_object().at("name").as_string() == name) return &v.as_object();
  }
  return nullptr;
}

TEST(TrafficHistory, KeepsOnePointPerSecondPerScopeFromTheDifferences) {
  TrafficHistory h;
  Readings r;
  add(r, "orders", "orders-route", 1000, 200, 1000);  // before the history started: not a second's
  h.sample(100, r, 3);
  add(r, "orders", "orders-route", 8, 200, 2000);
  add(r, "orders", "orders-route", 2, 502, 40000);
  add(r, "users", "users-route", 5, 404, 500);
  add(r, "", "", 1, 404, 50);
  h.sample(101, r, 7);
  h.sample(102, r, 7);  // a quiet second

  auto overall = h.series("", 3);
  ASSERT_TRUE(overall);
  EXPECT_EQ(json::serialize(overall->at("time")), "[100,101,102]");
  EXPECT_EQ(json::serialize(overall->at("requests")), "[0,16,0]");
  EXPECT_EQ(json::serialize(overall->at("client_errors")), "[0,6,0]");
  EXPECT_EQ(json::serialize(overall->at("server_errors")), "[0,2,0]");
  EXPECT_EQ(json::serialize(overall->at("connections")), "[0,7,7]");
  EXPECT_TRUE(overall->at("p99").as_array()[2].is_null());  // no request: no latency

  auto route = h.series("route:orders-route", 2);
  ASSERT_TRUE(route);
  EXPECT_EQ(json::serialize(route->at("requests")), "[10,0]");
  double p50 = route->at("p50").as_array()[0].to_number<double>();
  double p99 = route->at("p99").as_array()[0].to_number<double>();
  EXPECT_GE(p50, 1.5);
  EXPECT_LE(p50, 2.6);
  EXPECT_GE(p99, 30.0);  // the two slow answers
  EXPECT_FALSE(route->contains("connections"));

  auto service = h.series("service:users", 1);
  ASSERT_TRUE(service);
  EXPECT_EQ(json::serialize(service->at("requests")), "[0]");
  EXPECT_TRUE(h.series("unmatched", 900));
  EXPECT_FALSE(h.series("route:nowhere", 900));

  json::object top = h.top();
  const json::object* orders = find_named(top.at("routes").as_array(), "orders-route");
  ASSERT_NE(orders, nullptr);
  EXPECT_EQ(orders->at("requests_1m").as_uint64(), 10u);
  EXPECT_EQ(orders->at("server_errors_1m").as_uint64(), 2u);
  const json::object* users = find_named(top.at("services").as_array(), "users");
  ASSERT_NE(users, nullptr);
  EXPECT_EQ(users->at("client_errors_15m").as_uint64(), 5u);
  EXPECT_EQ(top.at("overall").as_object().at("requests_15m").as_uint64(), 16u);
  EXPECT_EQ(top.at("unmatched").as_object().at("requests_1m").as_uint64(), 1u);
}

TEST(TrafficHistory, KeepsASecondsPointWhenTheClockStepsBack) {
  TrafficHistory h;
  Readings r;
  h.sample(50, r, 0);
  add(r, "s", "r", 3, 200, 1000);
  h.sample(51, r, 0);
  add(r, "s", "r", 2, 200, 1000);
  h.sample(51, r, 0);  // again: ignored, its requests go to the next second
  h.sample(49, r, 0);
  h.sample(52, r, 0);
  EXPECT_EQ(json::serialize(h.series("route:r", 2)->at("requests")), "[3,2]");
}

TEST(TrafficHistory, ForgetsIdleScopesAndOldPointsAfterFifteenMinutes) {
  TrafficHistory h;
  Readings r;
  h.sample(1000, r, 0);
  add(r, "s", "r", 4, 200, 1000);
  h.sample(1001, r, 0);
  h.sample(1001 + 899, r, 0);
  EXPECT_TRUE(h.series("route:r", 900));
  EXPECT_EQ(h.series("route:r", 900)->at("requests").as_array()[0].as_uint64(), 4u);  // 1001 still in the window
  h.sample(1001 + 900, r, 0);
  EXPECT_FALSE(h.series("route:r", 900));  // idle for 15 minutes: given back
  auto overall = h.series("", 900);
  ASSERT_TRUE(overall);
  std::uint64_t total = 0;
  for (const auto& v : overall->at("requests").as_array()) total += v.as_uint64();
  EXPECT_EQ(total, 0u);  // the point of second 1001 fell out of the window
}

TEST(TrafficHistory, BoundsTheScopesItKeeps) {
  TrafficHistory h;
  Readings r;
  h.sample(1, r, 0);
  for (std::size_t i = 0; i < TrafficHistory::kMaxScopes + 10; ++i) add(r, "", "route-" + std::to_string(i), 1, 200, 100);
  h.sample(2, r, 0);
  EXPECT_EQ(h.points_dropped(), 11u);  // 266 routes: 255 rings besides the overall one
  EXPECT_LE(h.top().at("routes").as_array().size(), TrafficHistory::kMaxScopes);
  EXPECT_EQ(h.series("", 1)->at("requests").as_array()[0].as_uint64(), TrafficHistory::kMaxScopes + 10);
}

}  // namespace
}  // namespace portico::admin
