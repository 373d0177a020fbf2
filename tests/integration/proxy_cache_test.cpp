// The proxy-cache plugin through real sockets, with the cache's clock driven by the test:
// Miss, Hit with a growing Age, expiry; bodies of every framing stored and replayed; HEAD
// from a GET entry; stale-if-error with the upstream failing and then gone.
#include <gtest/gtest.h>

#include <atomic>

#include "plugins/proxy-cache/instance.hpp"
#include "support/fixture_upstream.hpp"
#include "support/gateway_harness.hpp"
#include "support/raw_client.hpp"

namespace portico::test {
namespace {

std::atomic<std::int64_t> g_now_ms{1'000'000'000'000};

struct DrivenClock {
  DrivenClock() { plugins::cache::set_clock_for_tests(+[] { return g_now_ms.load(); }); }
  ~DrivenClock() { plugins::cache::set_clock_for_tests(nullptr); }
  void advance_seconds(int s) { g_now_ms += s * 1000LL; }
};

Response request(int port, const std::string& method, const std::string& target) {
  RawConnection c(port);
  c.send(method + " " + target + " HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  return c.read_response(method == "HEAD");
}

std::string config(int port, const std::string& cache_config) {
  return "_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:" + std::to_string(port) +
         "\n  routes:\n  - name: r\n    paths: [/]\n    plugins:\n    - name: proxy-cache\n      config: {strategy: memory, "
         "content_type: [\"*/*\"], " + cache_config + "}\n";
}

TEST(ProxyCache, MissThenHitWithItsAgeThenExpiry) {
  DrivenClock clock;
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "cache_ttl: 10"));
  auto miss = request(gw.port(), "GET", "/items?b=2&a=1");
  ASSERT_EQ(miss.status, 200);
  EXPECT_EQ(miss.field("x-cache-status"), "Miss");
  EXPECT_EQ(miss.field("x-cache-key").size(), 64u);
  EXPECT_EQ(miss.count("age"), 0);
  clock.advance_seconds(4);
  auto hit = request(gw.port(), "GET", "/items?a=1&b=2");  // the same arguments in another order
  EXPECT_EQ(hit.status, 200);
  EXPECT_EQ(hit.field("x-cache-status"), "Hit");
  EXPECT_EQ(hit.field("x-cache-key"), miss.field("x-cache-key"));
  EXPECT_EQ(hit.field("age"), "4");
  EXPECT_EQ(hit.body, miss.body);  // the first request's echo, from the cache
  EXPECT_EQ(hit.field("content-type"), miss.field("content-type"));
  EXPECT_EQ(hit.field("content-length"), std::to_string(miss.body.size()));
  EXPECT_EQ(up.request_count(), 1u);
  clock.advance_seconds(7);  // 11 s: past cache_ttl, and nothing keeps it longer
  auto again = request(gw.port(), "GET", "/items?a=1&b=2");
  EXPECT_EQ(again.field("x-cache-status"), "Miss");
  EXPECT_EQ(up.request_count(), 2u);
  // Another query is another entry.
  EXPECT_EQ(request(gw.port(), "GET", "/items?a=2").field("x-cache-status"), "Miss");
}

TEST(ProxyCache, BodiesOfEveryFramingAreStoredWholeAndHeadIsAnsweredFromTheGetEntry) {
  DrivenClock clock;
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "cache_ttl: 60"));
  for (std::string path : {"/bytes/70000", "/chunked/5", "/close"}) {
    auto miss = request(gw.port(), "GET", path);
    ASSERT_EQ(miss.status, 200) << path;
    EXPECT_EQ(miss.field("x-cache-status"), "Miss") << path;
    auto hit = request(gw.port(), "GET", path);
    EXPECT_EQ(hit.field("x-cache-status"), "Hit") << path;
    EXPECT_EQ(hit.body, miss.body) << path;
    EXPECT_EQ(hit.field("content-length"), std::to_string(miss.body.size())) << path;
    EXPECT_EQ(hit.count("transfer-encoding"), 0) << path;
    auto head = request(gw.port(), "HEAD", path);
    EXPECT_EQ(head.field("x-cache-status"), "Hit") << path;
    EXPECT_EQ(head.field("content-length"), std::to_string(miss.body.size())) << path;
    EXPECT_TRUE(head.body.empty()) << path;
  }
  EXPECT_EQ(up.request_count(), 3u);
}

TEST(ProxyCache, AFailingOrDeadUpstreamIsAnsweredFromAStaleEntryWithinStaleIfError) {
  DrivenClock clock;
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "cache_ttl: 10, stale_if_error: 60"));
  auto miss = request(gw.port(), "GET", "/catalogue");
  ASSERT_EQ(miss.field("x-cache-status"), "Miss");
  clock.advance_seconds(20);  // expired, within stale_if_error
  up.answer_all(503);
  auto stale = request(gw.port(), "GET", "/catalogue");
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.field("x-cache-status"), "Stale");
  EXPECT_EQ(stale.field("age"), "20");
  EXPECT_EQ(stale.body, miss.body);
  up.stop();  // connection refused now
  auto dead = request(gw.port(), "GET", "/catalogue");
  EXPECT_EQ(dead.status, 200);
  EXPECT_EQ(dead.field("x-cache-status"), "Stale");
  clock.advance_seconds(60);  // 80 s: past fresh + stale_if_error
  auto gone = request(gw.port(), "GET", "/catalogue");
  EXPECT_EQ(gone.status, 502);
}

TEST(ProxyCache, AnOpenCircuitBreakersRefusalIsAnsweredFromAStaleEntry) {
  DrivenClock clock;
  FixtureUpstream up;
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:" + std::to_string(up.port()) +
                    "\n  retries: 0\n  plugins:\n  - name: circuit-breaker\n    config: {max_failures: 1, open_timeout: 60}\n"
                    "  routes:\n  - name: r\n    paths: [/]\n    plugins:\n    - name: proxy-cache\n"
                    "      config: {strategy: memory, cache_ttl: 10, stale_if_error: 60}\n");
  auto miss = request(gw.port(), "GET", "/catalogue");
  ASSERT_EQ(miss.field("x-cache-status"), "Miss");
  clock.advance_seconds(20);
  up.answer_all(503);
  auto failed = request(gw.port(), "GET", "/catalogue");  // the upstream's 503 opens the breaker
  EXPECT_EQ(failed.field("x-cache-status"), "Stale");
  EXPECT_EQ(up.request_count(), 2u);
  auto refused = request(gw.port(), "GET", "/catalogue");  // the breaker refuses: the entry answers
  EXPECT_EQ(refused.status, 200);
  EXPECT_EQ(refused.field("x-cache-status"), "Stale");
  EXPECT_EQ(refused.body, miss.body);
  EXPECT_EQ(up.request_count(), 2u);  // the open breaker kept the request from the upstream
  auto uncached = request(gw.port(), "GET", "/other");  // nothing stored: the breaker's answer stands
  EXPECT_EQ(uncached.status, 503);
}

TEST(ProxyCache, WithoutStaleIfErrorAnUpstreamErrorIsRelayedAndNotStored) {
  DrivenClock clock;
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "cache_ttl: 10"));
  ASSERT_EQ(request(gw.port(), "GET", "/x").field("x-cache-status"), "Miss");
  clock.advance_seconds(11);
  up.answer_all(503);
  auto failed = request(gw.port(), "GET", "/x");
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(failed.field("x-cache-status"), "Bypass");  // 503 is not in response_code
  up.answer_all(0);
  EXPECT_EQ(request(gw.port(), "GET", "/x").field("x-cache-status"), "Miss");
}

TEST(ProxyCache, AHitKeepsOrClosesTheConnectionAsTheClientAsked) {
  DrivenClock clock;
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "cache_ttl: 60"));
  ASSERT_EQ(request(gw.port(), "GET", "/conn").field("x-cache-status"), "Miss");
  {
    RawConnection c(gw.port());  // HTTP/1.0 with keep-alive: told so, and kept
    for (int i = 0; i < 2; ++i) {
      c.send("GET /conn HTTP/1.0\r\nHost: gw.test\r\nConnection: keep-alive\r\n\r\n");
      auto r = c.read_response();
      EXPECT_EQ(r.field("x-cache-status"), "Hit");
      EXPECT_EQ(r.field("connection"), "keep-alive");
    }
  }
  RawConnection c(gw.port());  // HTTP/1.1 asking to close: told so, and closed
  c.send("GET /conn HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(r.field("x-cache-status"), "Hit");
  EXPECT_EQ(r.field("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(up.request_count(), 1u);
}

}  // namespace
}  // namespace portico::test
