// Upstream resilience with real sockets: balancing, passive and active health checks,
// retries, circuit breaking and limits, against fixture upstreams that fail on purpose.
#include "plugin/counters.hpp"
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <future>
#include <map>
#include <thread>

#include "support/fixture_upstream.hpp"
#include "support/gateway_harness.hpp"
#include "support/raw_client.hpp"

namespace portico::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

Response get(int port, const std::string& target, const std::string& extra = "") {
  RawConnection c(port);
  c.send("GET " + target + " HTTP/1.1\r\nHost: gw.test\r\n" + extra + "\r\n");
  return c.read_response();
}

std::string upstream_of(const Response& r) {
  try {
    return std::string(json::parse(r.body).at("upstream").as_string());
  } catch (const std::exception&) {
    return "";
  }
}

// Sends `n` sequential requests on one keep-alive connection; counts answers per upstream.
std::map<std::string, int> count_upstreams(int port, int n) {
  RawConnection c(port);
  std::map<std::string, int> count;
  for (int i = 0; i < n; ++i) {
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ++count[upstream_of(c.read_response())];
  }
  return count;
}

json::object admin_health(GatewayHarness& gw, const std::string& upstream, const std::string& query = "") {
  RawConnection c(gw.admin_port());
  c.send("GET /upstreams/" + upstream + "/health" + query + " HTTP/1.1\r\nHost: admin\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body).as_object();
}

std::string target_health(GatewayHarness& gw, const std::string& upstream, int port) {
  auto body = admin_health(gw, upstream);
  for (const auto& t : body.at("data").as_array()) {
    if (t.at("target").as_string() == "127.0.0.1:" + std::to_string(port)) {
      return std::string(t.at("health").as_string());
    }
  }
  return "absent";
}

// Polls `pred` until true or `limit` passes.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

std::string targets_yaml(const std::vector<std::pair<int, int>>& port_weights) {
  std::string out = "  targets:\n";
  for (auto [port, weight] : port_weights) {
    out += "  - target: 127.0.0.1:" + std::to_string(port) + "\n    weight: " + std::to_string(weight) + "\n";
  }
  return out;
}

TEST(Upstreams, WeightedRoundRobinWithinTwoPercentOfWeights) {
  FixtureUpstream a("a"), b("b"), c("c");
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n" +
                    targets_yaml({{a.port(), 100}, {b.port(), 300}, {c.port(), 600}}));
  auto count = count_upstreams(gw.port(), 1000);
  EXPECT_NEAR(count["a"], 100, 2);
  EXPECT_NEAR(count["b"], 300, 6);
  EXPECT_NEAR(count["c"], 600, 12);
}

TEST(Upstreams, ConsistentHashingOnHeaderIsStickyAndSpreads) {
  FixtureUpstream a("a"), b("b"), c("c");
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n  algorithm: consistent-hashing\n  hash_on: header\n"
                    "  hash_on_header: X-User\n  hash_fallback: ip\n" +
                    targets_yaml({{a.port(), 100}, {b.port(), 100}, {c.port(), 100}}));
  std::map<std::string, std::string> home;
  std::map<std::string, int> spread;
  for (int user = 0; user < 60; ++user) {
    std::string key = "X-User: user-" + std::to_string(user) + "\r\n";
    std::string first = upstream_of(get(gw.port(), "/", key));
    for (int again = 0; again < 3; ++again) EXPECT_EQ(upstream_of(get(gw.port(), "/", key)), first);
    ++spread[first];
  }
  EXPECT_EQ(spread.size(), 3u);  // every target receives some users
  for (auto& [name, n] : spread) EXPECT_GE(n, 8) << name;
  // Without the header the fallback (client ip) still pins one target.
  std::string by_ip = upstream_of(get(gw.port(), "/"));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(upstream_of(get(gw.port(), "/")), by_ip);
}

TEST(Upstreams, ConsistentHashingOnCookieSetsTheCookieWhenAbsent) {
  FixtureUpstream a("a"), b("b");
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n  algorithm: consistent-hashing\n  hash_on: cookie\n"
                    "  hash_on_cookie: sticky\n  hash_on_cookie_path: /app\n" +
                    targets_yaml({{a.port(), 100}, {b.port(), 100}}));
  auto first = get(gw.port(), "/");
  std::string set_cookie = first.field("set-cookie");
  ASSERT_EQ(set_cookie.rfind("sticky=", 0), 0u) << first.head;
  EXPECT_NE(set_cookie.find("; Path=/app"), std::string::npos);
  std::string value = set_cookie.substr(7, set_cookie.find(';') - 7);
  for (int i = 0; i < 10; ++i) {
    auto r = get(gw.port(), "/", "Cookie: other=1; sticky=" + value + "\r\n");
    EXPECT_EQ(upstream_of(r), upstream_of(first));
    EXPECT_EQ(r.field("set-cookie"), "");  // only set when absent
  }
}

// A Kong-doc style regex path with a PCRE named capture routes, and the capture is usable
// by name (hash_on: uri_capture): the same item always lands on the same target.
TEST(Upstreams, ConsistentHashingOnAKongStyleNamedCapture) {
  FixtureUpstream a("a"), b("b"), c("c");
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: items\n  host: pool\n  routes:\n"
                    "  - name: items\n    paths: [\"~/items/(?<item>[0-9]+)$\"]\n"
                    "upstreams:\n- name: pool\n  algorithm: consistent-hashing\n  hash_on: uri_capture\n"
                    "  hash_on_uri_capture: item\n" +
                    targets_yaml({{a.port(), 100}, {b.port(), 100}, {c.port(), 100}}));
  std::map<std::string, int> spread;
  for (int item = 0; item < 60; ++item) {
    std::string path = "/items/" + std::to_string(item);
    auto first = get(gw.port(), path);
    ASSERT_EQ(first.status, 200) << path << "\n" << first.body;
    for (int again = 0; again < 3; ++again) EXPECT_EQ(upstream_of(get(gw.port(), path)), upstream_of(first)) << path;
    ++spread[upstream_of(first)];
  }
  EXPECT_EQ(spread.size(), 3u);  // the capture, not a constant, is hashed
  for (auto& [name, n] : spread) EXPECT_GE(n, 8) << name;
  EXPECT_EQ(get(gw.port(), "/items/42x").status, 404);  // "$" anchors the end
}

TEST(Upstreams, LeastConnectionsAvoidsASlowTarget) {
  FixtureUpstream fast("fast"), slow("slow");
  slow.delay_all(300);
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n  algorithm: least-connections\n" +
                    targets_yaml({{fast.port(), 100}, {slow.port(), 100}}));
  // Eight concurrent clients, 10 requests each: the slow target holds its requests, so
  // the balancer sends the rest to the fast one.
  std::vector<std::future<std::map<std::string, int>>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::async(std::launch::async, [&] { return count_upstreams(gw.port(), 10); }));
  }
  int to_fast = 0, to_slow = 0;
  for (auto& f : clients) {
    auto seen = f.get();
    to_fast += seen["fast"];
    to_slow += seen["slow"];
  }
  EXPECT_EQ(to_fast + to_slow, 80);
  EXPECT_LT(to_slow, 16) << "fast " << to_fast << " slow " << to_slow;
}

TEST(Upstreams, LatencyAlgorithmPrefersTheFasterTarget) {
  FixtureUpstream fast("fast"), slow("slow");
  slow.delay_all(60);
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n  algorithm: latency\n" +
                    targets_yaml({{fast.port(), 100}, {slow.port(), 100}}));
  auto count = count_upstreams(gw.port(), 50);
  EXPECT_EQ(count["fast"] + count["slow"], 50);
  EXPECT_LE(count["slow"], 3) << "fast " << count["fast"];  // sampled, then avoided
}

TEST(Upstreams, DeadTargetIsRetriedElsewhereMarkedUnhealthyAndBroughtBackByActiveChecks) {
  FixtureUpstream a("a"), b("b");
  auto dead = std::make_unique<FixtureUpstream>("c");
  int dead_port = dead->port();
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n  healthchecks:\n    passive:\n      unhealthy:\n"
                    "        tcp_failures: 2\n    active:\n      http_path: /health\n      timeout: 0.5\n"
                    "      healthy:\n        interval: 0.1\n        successes: 2\n      unhealthy:\n        interval: 0.1\n"
                    "        tcp_failures: 2\n" +
                    targets_yaml({{a.port(), 100}, {b.port(), 100}, {dead_port, 100}}));
  EXPECT_EQ(target_health(gw, "pool", dead_port), "HEALTHY");
  dead->stop();
  dead.reset();
  for (int i = 0; i < 60; ++i) {
    auto r = get(gw.port(), "/");
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.body;  // connect failures are retried
  }
  EXPECT_EQ(target_health(gw, "pool", dead_port), "UNHEALTHY");
  EXPECT_GE(gw.gateway().totals().upstream_retries, 1u);
  // The same port comes back: active probes (2 successes) restore it.
  FixtureUpstream revived("c", dead_port);
  ASSERT_TRUE(eventually([&] { return target_health(gw, "pool", dead_port) == "HEALTHY"; }));
  EXPECT_TRUE(eventually([&] {
    for (int i = 0; i < 6; ++i) get(gw.port(), "/");
    return revived.request_count() > 0;
  }));
  bool probed = false;
  for (const auto& r : revived.requests()) probed |= r.target == "/health" && r.header("user-agent") == "portico-healthcheck";
  EXPECT_TRUE(probed);
}

TEST(Upstreams, PassiveChecksAloneBringATargetBackAfterFailTimeout) {
  FixtureUpstream good("good"), flaky("flaky");
  flaky.answer_all(500);
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n  healthchecks:\n    passive:\n      unhealthy:\n"
                    "        http_failures: 1\n        fail_timeout: 0.3\n" +
                    targets_yaml({{good.port(), 100}, {flaky.port(), 100}}));
  for (int i = 0; i < 2; ++i) get(gw.port(), "/");
  ASSERT_EQ(target_health(gw, "pool", flaky.port()), "UNHEALTHY");
  std::size_t seen = flaky.request_count();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(get(gw.port(), "/").status, 200);
  EXPECT_EQ(flaky.request_count(), seen);  // ejected
  flaky.answer_all(0);  // it recovers; after fail_timeout one trial request proves it
  std::this_thread::sleep_for(350ms);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(get(gw.port(), "/").status, 200);
  EXPECT_EQ(target_health(gw, "pool", flaky.port()), "HEALTHY");
  EXPECT_GT(flaky.request_count(), seen);
}

TEST(Upstreams, HealthAndCircuitStateSurviveAReloadThatKeepsTheirConfig) {
  FixtureUpstream good("good"), bad("bad");
  bad.answer_all(500);
  auto config = [&](int read_timeout) {
    return "_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  read_timeout: " +
           std::to_string(read_timeout) +
           "\n  retries: 0\n  routes:\n  - paths: [/]\n- name: cb\n  url: http://127.0.0.1:" + std::to_string(bad.port()) +
           "\n  retries: 0\n  plugins:\n  - name: circuit-breaker\n    config: {max_failures: 1, open_timeout: 60}\n"
           "  routes:\n  - paths: [/cb]\n"
           "upstreams:\n- name: pool\n  healthchecks:\n    passive:\n      unhealthy:\n        http_failures: 1\n" +
           targets_yaml({{good.port(), 100}, {bad.port(), 100}});
  };
  GatewayHarness gw(config(60000));
  for (int i = 0; i < 2; ++i) get(gw.port(), "/");
  ASSERT_EQ(target_health(gw, "pool", bad.port()), "UNHEALTHY");
  EXPECT_EQ(get(gw.port(), "/cb").status, 500);
  EXPECT_EQ(get(gw.port(), "/cb").body, R"({"message":"circuit breaker is open"})");
  // A reload that changes something else keeps both states.
  ASSERT_TRUE(gw.rewrite_and_reload(config(30000)).empty());
  EXPECT_EQ(target_health(gw, "pool", bad.port()), "UNHEALTHY");
  EXPECT_EQ(get(gw.port(), "/cb").body, R"({"message":"circuit breaker is open"})");
  std::size_t before = bad.request_count();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(get(gw.port(), "/").status, 200);
  EXPECT_EQ(bad.request_count(), before);
}

TEST(Upstreams, HangingTargetGives504WithinReadTimeoutThenIsEjected) {
  FixtureUpstream good("good"), hung("hung");
  hung.hang_all(true);
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  read_timeout: 300\n"
                    "  retries: 0\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n  healthchecks:\n    passive:\n      unhealthy:\n        timeouts: 1\n" +
                    targets_yaml({{good.port(), 100}, {hung.port(), 100}}));
  int timeouts = 0;
  for (int i = 0; i < 2; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto r = get(gw.port(), "/");
    auto took = std::chrono::steady_clock::now() - start;
    if (r.status == 504) {
      ++timeouts;
      EXPECT_LT(took, 1500ms);
      EXPECT_EQ(r.body, R"({"message":"The upstream server is timing out"})");
    }
  }
  EXPECT_EQ(timeouts, 1);  // round robin sent one request there; it timed out
  EXPECT_EQ(target_health(gw, "pool", hung.port()), "UNHEALTHY");
  for (int i = 0; i < 10; ++i) EXPECT_EQ(get(gw.port(), "/").status, 200);
  EXPECT_EQ(hung.request_count(), 1u);
}

TEST(Upstreams, AllTargetsUnhealthyGives503) {
  FixtureUpstream a("a");
  a.answer_all(500);
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n  healthchecks:\n    passive:\n      unhealthy:\n        http_failures: 2\n" +
                    targets_yaml({{a.port(), 100}}));
  EXPECT_EQ(get(gw.port(), "/").status, 500);
  EXPECT_EQ(get(gw.port(), "/").status, 500);
  auto r = get(gw.port(), "/");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"message":"failure to get a peer from the ring-balancer"})");
  EXPECT_EQ(a.request_count(), 2u);
  auto balancer = admin_health(gw, "pool", "?balancer_health=1");
  EXPECT_EQ(balancer.at("data").at("health").as_string(), "UNHEALTHY");
}

TEST(Upstreams, AdminHealthUsesKongsShape) {
  FixtureUpstream a("a");
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n  targets:\n  - target: 127.0.0.1:" + std::to_string(a.port()) +
                    "\n  - target: 127.0.0.1:1\n    weight: 0\n  - target: no-such-host.invalid:80\n");
  auto body = admin_health(gw, "pool");
  ASSERT_TRUE(body.contains("node_id"));
  EXPECT_TRUE(body.at("next").is_null());
  const auto& data = body.at("data").as_array();
  ASSERT_EQ(data.size(), 3u);
  const auto& first = data[0].as_object();
  EXPECT_EQ(first.at("health").as_string(), "HEALTHCHECKS_OFF");
  EXPECT_EQ(first.at("weight").as_int64(), 100);
  EXPECT_EQ(first.at("id").as_string().size(), 36u);
  const auto& addr = first.at("data").at("addresses").as_array().at(0).as_object();
  EXPECT_EQ(addr.at("ip").as_string(), "127.0.0.1");
  EXPECT_EQ(addr.at("port").as_int64(), a.port());
  EXPECT_EQ(data[1].at("data").at("addresses").as_array().size(), 0u);  // weight 0: not in the balancer
  EXPECT_EQ(data[2].at("health").as_string(), "DNS_ERROR");
  RawConnection c(gw.admin_port());
  c.send("GET /upstreams/nope/health HTTP/1.1\r\nHost: admin\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 404);
}

TEST(Retries, NonIdempotentRequestWithBodyIsNotRetriedAfterBeingSent) {
  FixtureUpstream a("a"), b("b");
  a.hang_all(true);
  b.hang_all(true);
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  read_timeout: 200\n"
                    "  retries: 3\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n" + targets_yaml({{a.port(), 100}, {b.port(), 100}}));
  RawConnection c(gw.port());
  c.send("POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"qty\": 10}");
  auto r = c.read_response();
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(a.request_count() + b.request_count(), 1u);
  EXPECT_EQ(gw.gateway().totals().upstream_retries, 0u);
  // The same failure on an idempotent GET is retried on the other target.
  auto g = get(gw.port(), "/items");
  EXPECT_EQ(g.status, 504);
  EXPECT_EQ(a.request_count() + b.request_count(), 1u + 4u);  // 1 + retries
  EXPECT_GE(a.request_count(), 2u);  // the retries alternate between the two targets
  EXPECT_GE(b.request_count(), 2u);
}

TEST(Retries, ConfiguredStatusesAreRetriedOnAnotherTarget) {
  FixtureUpstream sick("sick"), healthy("healthy");
  sick.answer_all(503);
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  retries: 2\n"
                    "  retry_on_statuses: [502, 503, 504]\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n" + targets_yaml({{sick.port(), 100}, {healthy.port(), 100}}));
  for (int i = 0; i < 10; ++i) {
    auto r = get(gw.port(), "/");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(upstream_of(r), "healthy");
  }
  EXPECT_GE(sick.request_count(), 4u);
  // POST is never retried on a status: the 503 goes back to the client.
  healthy.answer_all(503);
  RawConnection c(gw.port());
  c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 503);
}

TEST(Retries, BudgetBoundsTheRetriesOfAFailingService) {
  FixtureUpstream a("a"), b("b");
  a.answer_all(503);
  b.answer_all(503);
  // No deposits (0%), a reserve of 1 retry a second: 10 budgeted retries per 10 s window.
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  retries: 5\n"
                    "  retry_on_statuses: [503]\n  retry_backoff_base: 0\n"
                    "  retry_budget_percent: 0\n  retry_budget_min_per_second: 1\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n" + targets_yaml({{a.port(), 100}, {b.port(), 100}}));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(get(gw.port(), "/").status, 503);
  // The first two requests spend the reserve (5 retries each); every later one is answered
  // after its first attempt. Without the budget: 20 x 6 = 120 attempts.
  EXPECT_EQ(a.request_count() + b.request_count(), 20u + 10u);
  auto totals = gw.gateway().totals();
  EXPECT_EQ(totals.upstream_retries, 10u);
  EXPECT_EQ(totals.retry_budget_exhausted, 18u);
}

TEST(Retries, FailuresThatNeverReachedTheUpstreamAreNotBudgeted) {
  FixtureUpstream healthy("healthy");
  int dead_port = 0;
  {
    FixtureUpstream dead("dead");
    dead_port = dead.port();
  }  // stopped: connecting to it is refused
  // A budget that allows no retry at all still lets every request reach the live target.
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  retries: 5\n"
                    "  retry_budget_percent: 0\n  retry_budget_min_per_second: 0\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n" + targets_yaml({{dead_port, 100}, {healthy.port(), 100}}));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(get(gw.port(), "/").status, 200);
  auto totals = gw.gateway().totals();
  EXPECT_GE(totals.upstream_retries, 10u);  // round-robin sends every other request to the dead target first
  EXPECT_EQ(totals.retry_budget_exhausted, 0u);
}

TEST(Retries, RequestTimeoutBoundsAllAttempts) {
  FixtureUpstream a("a");
  a.hang_all(true);
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  read_timeout: 10000\n"
                    "  retries: 5\n  request_timeout: 300\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n" + targets_yaml({{a.port(), 100}}));
  auto start = std::chrono::steady_clock::now();
  auto r = get(gw.port(), "/");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 504);
  EXPECT_GE(took, 280ms);
  EXPECT_LT(took, 1500ms);
}

TEST(CircuitBreaker, OpensFastFailsHalfOpensAndCloses) {
  FixtureUpstream a("a");
  a.answer_all(500);
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:" +
                    std::to_string(a.port()) +
                    "\n  retries: 0\n  plugins:\n  - name: circuit-breaker\n    config:\n      max_failures: 3\n"
                    "      window_size: 10\n      open_timeout: 0.4\n      half_open_requests: 2\n"
                    "  routes:\n  - paths: [/]\n");
  auto& rejected = plugin::counter("circuit_rejected");  // process-wide: compare before and after
  auto rejected_before = rejected.load();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get(gw.port(), "/").status, 500);
  EXPECT_EQ(a.request_count(), 3u);
  // Open: answered at once, nothing reaches the upstream.
  for (int i = 0; i < 5; ++i) {
    auto r = get(gw.port(), "/");
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.body, R"({"message":"circuit breaker is open"})");
  }
  EXPECT_EQ(a.request_count(), 3u);
  EXPECT_EQ(rejected.load() - rejected_before, 5u);
  // After open_timeout: half-open lets probes through; the service has recovered.
  a.answer_all(0);
  std::this_thread::sleep_for(450ms);
  EXPECT_EQ(get(gw.port(), "/").status, 200);
  EXPECT_EQ(get(gw.port(), "/").status, 200);
  EXPECT_EQ(a.request_count(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(get(gw.port(), "/").status, 200);  // closed again
  EXPECT_EQ(a.request_count(), 10u);
}

TEST(CircuitBreaker, FailedProbeReopensAndRouteConfigOverridesService) {
  FixtureUpstream a("a");
  a.answer_all(502);
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:" +
                    std::to_string(a.port()) +
                    "\n  retries: 0\n  plugins:\n  - name: circuit-breaker\n    config:\n      max_failures: 100\n"
                    "  routes:\n  - paths: [/strict]\n    plugins:\n    - name: circuit-breaker\n      config:\n"
                    "        max_failures: 1\n        open_timeout: 0.3\n        error_status: 502\n"
                    "        error_message: payments are unavailable\n  - paths: [/lenient]\n");
  EXPECT_EQ(get(gw.port(), "/strict").status, 502);
  auto r = get(gw.port(), "/strict");
  EXPECT_EQ(r.body, R"({"message":"payments are unavailable"})");
  EXPECT_EQ(a.request_count(), 1u);
  for (int i = 0; i < 3; ++i) {
    auto lenient = get(gw.port(), "/lenient");  // the service's breaker (100 failures): still closed
    EXPECT_EQ(lenient.status, 502);
    EXPECT_EQ(upstream_of(lenient), "a");
  }
  EXPECT_EQ(a.request_count(), 4u);
  std::this_thread::sleep_for(350ms);
  get(gw.port(), "/strict");  // the probe fails: open again
  EXPECT_EQ(a.request_count(), 5u);
  get(gw.port(), "/strict");
  EXPECT_EQ(a.request_count(), 5u);
}

TEST(Limits, MaxRequestsShedsWith503) {
  FixtureUpstream a("a");
  a.delay_all(400);
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n  max_requests: 2\n" + targets_yaml({{a.port(), 100}}));
  std::vector<std::future<int>> slow;
  for (int i = 0; i < 2; ++i) slow.push_back(std::async(std::launch::async, [&] { return get(gw.port(), "/").status; }));
  ASSERT_TRUE(eventually([&] { return a.request_count() == 2; }));
  auto r = get(gw.port(), "/");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"message":"upstream is over its max_requests limit"})");
  for (auto& f : slow) EXPECT_EQ(f.get(), 200);
  EXPECT_EQ(get(gw.port(), "/").status, 200);
  EXPECT_EQ(gw.gateway().totals().upstream_overflows, 1u);
}

TEST(Limits, MaxConnectionsShedsRequestsThatNeedANewConnection) {
  FixtureUpstream a("a");
  a.delay_all(400);
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  retries: 0\n"
                    "  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n  max_connections: 1\n" + targets_yaml({{a.port(), 100}}));
  auto slow = std::async(std::launch::async, [&] { return get(gw.port(), "/").status; });
  ASSERT_TRUE(eventually([&] { return a.request_count() == 1; }));
  auto r = get(gw.port(), "/");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"message":"upstream is over its max_connections limit"})");
  EXPECT_EQ(slow.get(), 200);
  // The one connection is back in the pool: the next request reuses it.
  EXPECT_EQ(get(gw.port(), "/").status, 200);
  EXPECT_EQ(a.connections_accepted(), 1);
}

TEST(CircuitBreaker, CountsOpensInStatus) {
  FixtureUpstream a("a");
  a.answer_all(503);
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:" +
                    std::to_string(a.port()) +
                    "\n  retries: 0\n  plugins:\n  - name: circuit-breaker\n    config:\n      max_failures: 1\n"
                    "  routes:\n  - paths: [/]\n");
  RawConnection c(gw.admin_port());
  c.send("GET /status HTTP/1.1\r\nHost: admin\r\n\r\n");
  auto before = json::parse(c.read_response().body).at("portico").at("circuit_opened").as_int64();
  EXPECT_EQ(get(gw.port(), "/").status, 503);
  // The breaker counts in the log phase, just after the answer was written: poll for it.
  std::int64_t opened = before;
  EXPECT_TRUE(eventually([&] {
    c.send("GET /status HTTP/1.1\r\nHost: admin\r\n\r\n");
    opened = json::parse(c.read_response().body).at("portico").at("circuit_opened").as_int64();
    return opened == before + 1;
  }));
  EXPECT_EQ(opened, before + 1);
  // The plugin's own Admin API endpoint (declared by the plugin, served by the engine).
  c.send("GET /circuit-breakers HTTP/1.1\r\nHost: admin\r\n\r\n");
  auto r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.body;
  json::value listed = json::parse(r.body);
  const auto& data = listed.at("data").as_array();
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].at("state").as_string(), "open");
  EXPECT_EQ(data[0].at("scope").as_string(), "service 's'");
  EXPECT_EQ(data[0].at("times_opened").to_number<std::uint64_t>(), 1u);
  c.send("DELETE /circuit-breakers HTTP/1.1\r\nHost: admin\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 405);
}

TEST(Dns, ALaterReloadWinsOverOneStillWaitingForDns) {
  // A DNS "server" that never answers: names wait for the resolver's timeout.
  int silent = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len);
  auto options = GatewayHarness::default_options();
  options.dns.servers = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  options.dns.query_timeout_ms = 300;
  options.dns.query_tries = 1;
  FixtureUpstream a("a"), b("b");
  auto direct = [](int port) {
    return "_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:" + std::to_string(port) +
           "\n  routes:\n  - paths: [/]\n";
  };
  GatewayHarness gw(direct(a.port()), options);
  EXPECT_EQ(upstream_of(get(gw.port(), "/")), "a");
  // This one waits for "slow.test"; the next one (no names) is active at once.
  EXPECT_TRUE(gw.rewrite_and_reload("_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://slow.test:1\n"
                                    "  routes:\n  - paths: [/]\n").empty());
  EXPECT_EQ(upstream_of(get(gw.port(), "/")), "a");  // the old snapshot serves meanwhile
  EXPECT_TRUE(gw.rewrite_and_reload(direct(b.port())).empty());
  EXPECT_EQ(upstream_of(get(gw.port(), "/")), "b");
  std::this_thread::sleep_for(1500ms);  // the first reload's DNS wait is over by now
  auto r = get(gw.port(), "/");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(upstream_of(r), "b");
  ::close(silent);
}

}  // namespace
}  // namespace portico::test
