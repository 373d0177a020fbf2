#include "proxy/balancer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <thread>

namespace portico::proxy {
namespace {

std::vector<Endpoint> make_endpoints(const std::vector<int>& weights) {
  std::vector<Endpoint> out;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    Endpoint e;
    e.address = {boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(9000 + i)};
    e.pool_key = "127.0.0.1:" + std::to_string(9000 + i);
    e.target = e.pool_key;
    e.weight = weights[i];
    e.health = std::make_shared<TargetHealth>();
    out.push_back(std::move(e));
  }
  return out;
}

TEST(Balancer, WeightedRoundRobinFollowsWeightsWithinTwoPercent) {
  Balancer b(Algorithm::round_robin, make_endpoints({100, 200, 300, 400}), false, 0);
  BalancerState state;
  std::map<std::uint32_t, int> count;
  for (int i = 0; i < 10000; ++i) ++count[b.pick(state, 0, {})->index];
  for (std::uint32_t i = 0; i < 4; ++i) {
    double expected = 10000.0 * (i + 1) / 10;
    EXPECT_NEAR(count[i], expected, expected * 0.02) << "endpoint " << i;
  }
}

TEST(Balancer, RoundRobinIsSmoothNotBursty) {
  Balancer b(Algorithm::round_robin, make_endpoints({100, 100, 100}), false, 0);
  BalancerState state;
  std::uint32_t previous = 99;
  for (int i = 0; i < 300; ++i) {
    auto idx = b.pick(state, 0, {})->index;
    EXPECT_NE(idx, previous);
    previous = idx;
  }
}

TEST(Balancer, SkipsUnhealthyAndTriedEndpoints) {
  auto eps = make_endpoints({100, 100, 100});
  Balancer b(Algorithm::round_robin, eps, true, 0);
  BalancerState state;
  b.endpoints()[1].health->set_healthy(false);
  for (int i = 0; i < 50; ++i) EXPECT_NE(b.pick(state, 0, {})->index, 1u);
  std::vector<std::uint32_t> tried{0};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(b.pick(state, 0, tried)->index, 2u);
  // Every healthy one tried: tried ones are allowed again rather than failing.
  tried = {0, 2};
  EXPECT_NE(b.pick(state, 0, tried), nullptr);
  b.endpoints()[0].health->set_healthy(false);
  b.endpoints()[2].health->set_healthy(false);
  EXPECT_EQ(b.pick(state, 0, {}), nullptr);
}

TEST(Balancer, UnhealthyAddressGetsOneTrialAfterFailTimeout) {
  Balancer b(Algorithm::round_robin, make_endpoints({100, 100}), true, 0, std::chrono::milliseconds(50));
  BalancerState state;
  b.endpoints()[1].health->set_healthy(false);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(b.pick(state, 0, {})->index, 0u);  // not due yet
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  int trials = 0;
  for (int i = 0; i < 20; ++i) trials += b.pick(state, 0, {})->index == 1u ? 1 : 0;
  EXPECT_EQ(trials, 1);  // exactly one request is let through, then it waits again
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  trials = 0;
  for (int i = 0; i < 20; ++i) trials += b.pick(state, 0, {})->index == 1u ? 1 : 0;
  EXPECT_EQ(trials, 1);
}

TEST(Balancer, HealthIgnoredWithoutHealthChecks) {
  Balancer b(Algorithm::round_robin, make_endpoints({100}), false, 0);
  BalancerState state;
  b.endpoints()[0].health->set_healthy(false);
  EXPECT_NE(b.pick(state, 0, {}), nullptr);
}

TEST(Balancer, ThresholdMarksTheWholeUpstreamDown) {
  Balancer b(Algorithm::round_robin, make_endpoints({100, 100, 100, 100}), true, 60);
  BalancerState state;
  b.endpoints()[0].health->set_healthy(false);
  EXPECT_NE(b.pick(state, 0, {}), nullptr);  // 75% healthy >= 60%
  b.endpoints()[1].health->set_healthy(false);
  EXPECT_EQ(b.pick(state, 0, {}), nullptr);  // 50% < 60%
}

TEST(Balancer, LeastConnectionsAvoidsBusyEndpoint) {
  Balancer b(Algorithm::least_connections, make_endpoints({100, 100, 100}), false, 0);
  BalancerState state;
  b.endpoints()[0].health->in_flight = 10;
  b.endpoints()[1].health->in_flight = 2;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.pick(state, 0, {})->index, 2u);
  b.endpoints()[2].health->in_flight = 5;
  EXPECT_EQ(b.pick(state, 0, {})->index, 1u);
}

TEST(Balancer, LeastConnectionsSpreadsTiesAndHonoursWeights) {
  Balancer b(Algorithm::least_connections, make_endpoints({100, 300}), false, 0);
  BalancerState state;
  b.endpoints()[0].health->in_flight = 1;
  b.endpoints()[1].health->in_flight = 2;  // 3/300 < 2/100
  EXPECT_EQ(b.pick(state, 0, {})->index, 1u);
  Balancer even(Algorithm::least_connections, make_endpoints({100, 100}), false, 0);
  std::map<std::uint32_t, int> count;
  for (int i = 0; i < 100; ++i) ++count[even.pick(state, 0, {})->index];
  EXPECT_EQ(count[0], 50);
  EXPECT_EQ(count[1], 50);
}

TEST(Balancer, ConsistentHashingKeepsKeysAndMovesAboutOneNthOnRemoval) {
  auto four = make_endpoints({100, 100, 100, 100});
  auto three = four;
  three.pop_back();
  Balancer full(Algorithm::consistent_hashing, four, false, 0);
  Balancer reduced(Algorithm::consistent_hashing, three, false, 0);
  BalancerState state;
  int moved = 0, on_removed = 0;
  std::map<std::uint32_t, int> spread;
  const int keys = 10000;
  for (int k = 0; k < keys; ++k) {
    auto h = hash_key("user-" + std::to_string(k));
    const Endpoint* before = full.pick(state, h, {});
    EXPECT_EQ(full.pick(state, h, {}), before);  // stable
    ++spread[before->index];
    const Endpoint* after = reduced.pick(state, h, {});
    if (before->pool_key != after->pool_key) ++moved;
    if (before->index == 3) ++on_removed;
  }
  EXPECT_EQ(moved, on_removed);  // only keys of the removed target moved
  EXPECT_NEAR(moved, keys / 4, keys * 0.06);
  for (auto& [idx, n] : spread) EXPECT_NEAR(n, keys / 4, keys * 0.06) << "endpoint " << idx;
}

TEST(Balancer, ConsistentHashingFailsOverToTheNextTarget) {
  Balancer b(Algorithm::consistent_hashing, make_endpoints({100, 100, 100}), true, 0);
  BalancerState state;
  auto h = hash_key("session-42");
  const Endpoint* home = b.pick(state, h, {});
  home->health->set_healthy(false);
  const Endpoint* other = b.pick(state, h, {});
  ASSERT_NE(other, nullptr);
  EXPECT_NE(other, home);
  EXPECT_EQ(b.pick(state, h, {}), other);  // deterministic while the home target is down
  home->health->set_healthy(true);
  EXPECT_EQ(b.pick(state, h, {}), home);
}

TEST(Balancer, LatencyPrefersTheFasterEndpoint) {
  Balancer b(Algorithm::latency, make_endpoints({100, 100}), false, 0);
  BalancerState state;
  auto now = TargetHealth::Clock::now();
  b.endpoints()[0].health->observe_latency(std::chrono::microseconds(50000), now);
  b.endpoints()[1].health->observe_latency(std::chrono::microseconds(1000), now);
  std::map<std::uint32_t, int> count;
  for (int i = 0; i < 1000; ++i) ++count[b.pick(state, 0, {})->index];
  EXPECT_EQ(count[1], 1000);  // two choices over two endpoints: always the cheaper one
  b.endpoints()[1].health->in_flight = 100;  // ... unless it is swamped
  EXPECT_EQ(b.pick(state, 0, {})->index, 0u);
}

TEST(TargetHealth, PeakEwmaTakesSlowSamplesAtOnceAndDecaysFastOnes) {
  TargetHealth h;
  auto t = TargetHealth::Clock::now();
  h.observe_latency(std::chrono::microseconds(1000), t);
  h.observe_latency(std::chrono::microseconds(9000), t + std::chrono::milliseconds(1));
  EXPECT_DOUBLE_EQ(h.latency_us(), 9000);
  h.observe_latency(std::chrono::microseconds(1000), t + std::chrono::seconds(10));
  // One time constant later: e^-1 of the old value remains.
  EXPECT_NEAR(h.latency_us(), 9000 * std::exp(-1.0) + 1000 * (1 - std::exp(-1.0)), 1.0);
}

TEST(TargetHealth, LatencyEstimateDecaysWithoutSamples) {
  TargetHealth h;
  auto t = TargetHealth::Clock::now();
  h.observe_latency(std::chrono::microseconds(10000), t);
  EXPECT_DOUBLE_EQ(h.latency_us_at(t), 10000);
  EXPECT_NEAR(h.latency_us_at(t + TargetHealth::kDecay), 10000 * std::exp(-1.0), 1.0);
  EXPECT_LT(h.latency_us_at(t + 5 * TargetHealth::kDecay), 100);
}

TEST(TargetHealth, CountsConsecutiveFailuresAndSuccessesPerKind) {
  config::HealthyRule healthy{0, 2, {200}};
  config::UnhealthyRule unhealthy{0, 3, 2, 1, {500}};
  TargetHealth h;
  EXPECT_FALSE(h.report(HealthEvent::http_failure, healthy, unhealthy));
  EXPECT_FALSE(h.report(HealthEvent::http_failure, healthy, unhealthy));
  EXPECT_FALSE(h.report(HealthEvent::success, healthy, unhealthy));  // resets the failures
  EXPECT_FALSE(h.report(HealthEvent::http_failure, healthy, unhealthy));
  EXPECT_FALSE(h.report(HealthEvent::http_failure, healthy, unhealthy));
  EXPECT_TRUE(h.healthy());
  EXPECT_TRUE(h.report(HealthEvent::http_failure, healthy, unhealthy));
  EXPECT_FALSE(h.healthy());
  EXPECT_FALSE(h.report(HealthEvent::success, healthy, unhealthy));
  EXPECT_TRUE(h.report(HealthEvent::success, healthy, unhealthy));
  EXPECT_TRUE(h.healthy());
  EXPECT_TRUE(h.report(HealthEvent::timeout, healthy, unhealthy));  // timeouts: 1
  EXPECT_FALSE(h.healthy());
}

TEST(TargetHealth, ZeroThresholdsNeverChangeState) {
  config::HealthyRule healthy{0, 0, {200}};
  config::UnhealthyRule unhealthy{0, 0, 0, 0, {500}};
  TargetHealth h;
  for (int i = 0; i < 100; ++i) h.report(HealthEvent::tcp_failure, healthy, unhealthy);
  EXPECT_TRUE(h.healthy());
  EXPECT_EQ(classify_status(500, healthy, unhealthy), StatusVerdict::failure);
  EXPECT_EQ(classify_status(200, healthy, unhealthy), StatusVerdict::success);
  EXPECT_EQ(classify_status(404, healthy, unhealthy), StatusVerdict::neutral);
}

}  // namespace
}  // namespace portico::proxy
