// proxy-cache's redis strategy with two gateways in this process as two nodes, sharing one
// real redis-server (support/redis_server.hpp), with the cache's clock driven by the test: an
// entry stored through one node answers on the other; purges (by key, by path, by prefix,
// all) through either node's Admin API reach both; a purge wins over a fill in flight on the
// other node; stale-if-error from an entry another node stored; Redis away answers 502, or
// goes upstream with bypass_on_err; a purge of all leaves the database's other keys alone.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <thread>

#include "plugins/proxy-cache/instance.hpp"
#include "support/fixture_upstream.hpp"
#include "support/gateway_harness.hpp"
#include "support/raw_client.hpp"
#include "support/redis_server.hpp"

namespace portico::test {
namespace {

std::atomic<std::int64_t> g_now_ms{1'000'000'000'000};

class ProxyCacheRedis : public ::testing::Test {
 protected:
  void SetUp() override {
    plugins::cache::set_clock_for_tests(+[] { return g_now_ms.load(); });
    ASSERT_NE(redis_port(), 0);
    ASSERT_EQ(redis_cli("FLUSHALL"), 0);
  }
  void TearDown() override { plugins::cache::set_clock_for_tests(nullptr); }
  static void advance_seconds(int s) { g_now_ms += s * 1000LL; }
  static int redis_cli(const std::string& args) {
    return std::system(("redis-cli -p " + std::to_string(redis_port()) + " " + args + " > /dev/null").c_str());
  }
  static std::string redis_get(const std::string& key) {
    std::string command = "redis-cli -p " + std::to_string(redis_port()) + " GET " + key;
    std::string out;
    if (FILE* p = ::popen(command.c_str(), "r")) {
      char buf[256];
      while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
      ::pclose(p);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }
};

std::string config(int upstream_port, int redis, const std::string& extra = "") {
  return "_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:" + std::to_string(upstream_port) +
         "\n  routes:\n  - name: r\n    paths: [/]\n    plugins:\n    - name: proxy-cache\n      config: {strategy: redis, "
         "redis: {host: 127.0.0.1, port: " + std::to_string(redis) + "}, content_type: [\"*/*\"], cache_ttl: 10" + extra +
         "}\n";
}

Response request(int port, const std::string& method, const std::string& target) {
  RawConnection c(port);
  c.send(method + " " + target + " HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  return c.read_response(method == "HEAD");
}

Response admin(int port, const std::string& method, const std::string& target) {
  RawConnection c(port);
  c.send(method + " " + target + " HTTP/1.1\r\nHost: admin\r\nContent-Length: 0\r\n\r\n");
  return c.read_response(method == "HEAD");
}

// The entry is stored in Redis just after the response went out (the client does not wait
// for it): a request to another node right after may still miss. Waits until the Admin API
// shows the entry `fetched` names (X-Cache-Key), at most 2 s.
bool stored(int admin_port, const Response& fetched) {
  for (int i = 0; i < 100; ++i) {
    if (admin(admin_port, "GET", "/proxy-cache/" + fetched.field("x-cache-key")).status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// A request for `target` through node `port` after its entry was stored through `admin_port`.
Response after_store(int admin_port, const Response& fetched, int port, const std::string& target) {
  EXPECT_TRUE(stored(admin_port, fetched)) << target;
  return request(port, "GET", target);
}

TEST_F(ProxyCacheRedis, AnEntryStoredThroughOneNodeAnswersOnTheOtherUntilItExpires) {
  FixtureUpstream up;
  GatewayHarness node1(config(up.port(), redis_port())), node2(config(up.port(), redis_port()));
  auto miss = request(node1.port(), "GET", "/items?b=2&a=1");
  ASSERT_EQ(miss.status, 200);
  EXPECT_EQ(miss.field("x-cache-status"), "Miss");
  auto hit = after_store(node1.admin_port(), miss, node2.port(), "/items?a=1&b=2");
  EXPECT_EQ(hit.field("x-cache-status"), "Hit");
  EXPECT_EQ(hit.field("x-cache-key"), miss.field("x-cache-key"));
  EXPECT_EQ(hit.body, miss.body);
  EXPECT_EQ(hit.field("content-type"), miss.field("content-type"));
  EXPECT_EQ(up.request_count(), 1u);
  advance_seconds(4);
  EXPECT_EQ(request(node1.port(), "GET", "/items?a=1&b=2").field("age"), "4");
  advance_seconds(7);  // past cache_ttl on both nodes
  EXPECT_EQ(request(node2.port(), "GET", "/items?a=1&b=2").field("x-cache-status"), "Miss");
  EXPECT_EQ(up.request_count(), 2u);
  // The Admin API of either node shows the strategy and the entry.
  auto stats = admin(node1.admin_port(), "GET", "/proxy-cache");
  EXPECT_NE(stats.body.find("\"strategy\":\"redis\""), std::string::npos) << stats.body;
  auto shown = admin(node2.admin_port(), "GET", "/proxy-cache/" + miss.field("x-cache-key"));
  EXPECT_EQ(shown.status, 200);
  EXPECT_NE(shown.body.find("\"path\":\"/items\""), std::string::npos) << shown.body;
}

TEST_F(ProxyCacheRedis, PurgesThroughEitherNodeReachBoth) {
  FixtureUpstream up;
  GatewayHarness node1(config(up.port(), redis_port())), node2(config(up.port(), redis_port()));
  for (std::string path : {"/a/1", "/a/2", "/a/2?x=1", "/b/1"}) {
    auto miss = request(node1.port(), "GET", path);
    ASSERT_EQ(miss.field("x-cache-status"), "Miss");
    ASSERT_EQ(after_store(node1.admin_port(), miss, node2.port(), path).field("x-cache-status"), "Hit") << path;
  }
  // By key, through node 2: node 1 misses.
  std::string key = request(node1.port(), "GET", "/a/1").field("x-cache-key");
  EXPECT_EQ(admin(node2.admin_port(), "DELETE", "/proxy-cache/" + key).status, 204);
  EXPECT_EQ(admin(node2.admin_port(), "DELETE", "/proxy-cache/" + key).status, 404);
  EXPECT_EQ(admin(node1.admin_port(), "GET", "/proxy-cache/" + key).status, 404);
  EXPECT_EQ(request(node1.port(), "GET", "/a/1").field("x-cache-status"), "Miss");
  // By path (every query of it), through node 1.
  auto purged = admin(node1.admin_port(), "POST", "/cache/purge/a/2");
  EXPECT_EQ(purged.status, 200);
  EXPECT_NE(purged.body.find("\"purged\":2"), std::string::npos) << purged.body;
  auto refetched = request(node2.port(), "GET", "/a/2?x=1");
  EXPECT_EQ(refetched.field("x-cache-status"), "Miss");
  EXPECT_EQ(after_store(node2.admin_port(), refetched, node1.port(), "/a/2?x=1").field("x-cache-status"), "Hit");
  // By prefix: /a/... goes (/a/1 stored again, /a/2?x=1), /b/1 stays.
  ASSERT_TRUE(stored(node1.admin_port(), request(node1.port(), "GET", "/a/1")));
  auto prefix = admin(node2.admin_port(), "DELETE", "/cache/purge/a/*");
  EXPECT_NE(prefix.body.find("\"purged\":2"), std::string::npos) << prefix.body;
  EXPECT_EQ(request(node1.port(), "GET", "/a/1").field("x-cache-status"), "Miss");
  EXPECT_EQ(request(node1.port(), "GET", "/b/1").field("x-cache-status"), "Hit");
  // All: only the cache's keys, not the database's others.
  ASSERT_EQ(redis_cli("SET other-application:key kept"), 0);
  EXPECT_EQ(admin(node1.admin_port(), "DELETE", "/proxy-cache").status, 204);
  EXPECT_EQ(request(node2.port(), "GET", "/b/1").field("x-cache-status"), "Miss");
  EXPECT_EQ(redis_get("other-application:key"), "kept");
}

TEST_F(ProxyCacheRedis, APurgeWinsOverAFillInFlightOnAnotherNode) {
  FixtureUpstream up;
  GatewayHarness node1(config(up.port(), redis_port())), node2(config(up.port(), redis_port()));
  // Without a purge, the slow response is stored.
  auto first = request(node1.port(), "GET", "/slow/300?n=1");
  ASSERT_EQ(first.field("x-cache-status"), "Miss");
  EXPECT_EQ(after_store(node1.admin_port(), first, node2.port(), "/slow/300?n=1").field("x-cache-status"), "Hit");
  // A purge through node 2 while node 1 fetches: what node 1 fetched is not stored.
  auto fetch = std::async(std::launch::async, [&] { return request(node1.port(), "GET", "/slow/300?n=2"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(admin(node2.admin_port(), "POST", "/cache/purge/slow/300").status, 200);
  auto fetched = fetch.get();
  ASSERT_EQ(fetched.status, 200);
  EXPECT_EQ(fetched.field("x-cache-status"), "Miss");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // time for a store, had there been one
  EXPECT_EQ(admin(node1.admin_port(), "GET", "/proxy-cache/" + fetched.field("x-cache-key")).status, 404);
  EXPECT_EQ(request(node2.port(), "GET", "/slow/300?n=2").field("x-cache-status"), "Miss");
}

TEST_F(ProxyCacheRedis, AnotherNodesEntryAnswersAFailingUpstreamWithinStaleIfError) {
  FixtureUpstream up;
  GatewayHarness node1(config(up.port(), redis_port(), ", stale_if_error: 60"));
  GatewayHarness node2(config(up.port(), redis_port(), ", stale_if_error: 60"));
  auto miss = request(node1.port(), "GET", "/catalogue");
  ASSERT_EQ(miss.field("x-cache-status"), "Miss");
  ASSERT_EQ(after_store(node1.admin_port(), miss, node2.port(), "/catalogue").field("x-cache-status"), "Hit");
  advance_seconds(20);
  up.answer_all(503);
  auto stale = request(node2.port(), "GET", "/catalogue");
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.field("x-cache-status"), "Stale");
  EXPECT_EQ(stale.body, miss.body);
  advance_seconds(60);  // past fresh + stale_if_error
  EXPECT_EQ(request(node2.port(), "GET", "/catalogue").status, 503);
}

TEST_F(ProxyCacheRedis, RedisAwayAnswers502OrGoesUpstreamWithBypassOnErr) {
  FixtureUpstream up;
  int nowhere = closed_port();
  GatewayHarness strict(config(up.port(), nowhere));
  auto refused = request(strict.port(), "GET", "/items");
  EXPECT_EQ(refused.status, 502);
  EXPECT_NE(refused.body.find("\"message\":\"The cache could not be read (not connected: Connection refused)"),
            std::string::npos)
      << refused.body;
  EXPECT_EQ(up.request_count(), 0u);
  GatewayHarness lenient(config(up.port(), nowhere, ", bypass_on_err: true"));
  for (int i = 0; i < 3; ++i) {
    auto passed = request(lenient.port(), "GET", "/items");
    EXPECT_EQ(passed.status, 200);
    EXPECT_EQ(passed.field("x-cache-status"), "Bypass");
  }
  EXPECT_EQ(up.request_count(), 3u);
  // The Admin API says what failed.
  auto purge = admin(lenient.admin_port(), "DELETE", "/proxy-cache");
  EXPECT_EQ(purge.status, 500);
  EXPECT_NE(purge.body.find("The cache's Redis (127.0.0.1:" + std::to_string(nowhere) + "/0) failed"), std::string::npos)
      << purge.body;
}

TEST_F(ProxyCacheRedis, TheRedisStrategyNeedsAServer) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), redis_port()));
  std::string broken = config(up.port(), redis_port());
  broken.replace(broken.find("redis: {host: 127.0.0.1, "), std::string("redis: {host: 127.0.0.1, ").size(), "redis: {");
  auto errors = gw.rewrite_and_reload(broken);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("redis.host"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("required field missing"), std::string::npos) << errors[0];
}

}  // namespace
}  // namespace portico::test
