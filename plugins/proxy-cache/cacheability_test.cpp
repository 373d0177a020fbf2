// The rules for what the cache may store, each on its own (issue 11 section 2).
#include "plugins/proxy-cache/cacheability.hpp"

#include <gtest/gtest.h>

namespace portico::plugins::cache {
namespace {

StoreRules rules(bool cache_control = false) {
  StoreRules r;
  for (auto t : {"text/plain", "application/json"}) r.content_types.push_back(*http::parse_media_type(t));
  r.cache_control = cache_control;
  r.max_body_size = 1000;
  return r;
}

http::ResponseHead response(int status, std::vector<http::HeaderField> extra = {}) {
  http::ResponseHead h;
  h.status = status;
  h.headers.push_back({"Content-Type", "application/json"});
  for (auto& f : extra) h.headers.push_back(f);
  h.framing = http::BodyFraming::content_length;
  h.content_length = 10;
  return h;
}

std::string_view why_not(const StoreRules& r, const http::ResponseHead& resp, bool authorization = false,
                         bool body = false) {
  auto d = decide_store(r, RequestFacts{authorization, body}, resp, 1'000'000);
  return d.store ? "stored" : d.reason;
}

StoreDecision decide(const StoreRules& r, const http::ResponseHead& resp) { return decide_store(r, {}, resp, 0); }

TEST(Cacheability, AnOrdinaryResponseIsStoredForCacheTtl) {
  auto d = decide(rules(), response(200));
  EXPECT_TRUE(d.store);
  EXPECT_EQ(d.ttl_seconds, 300);
  EXPECT_EQ(why_not(rules(), response(404)), "stored");
}

TEST(Cacheability, NeverStored) {
  auto r = rules();
  EXPECT_EQ(why_not(r, response(500)), "status not in response_code");
  EXPECT_EQ(why_not(r, response(206)), "partial content");
  EXPECT_EQ(why_not(r, response(200, {{"Set-Cookie", "session=1"}})), "Set-Cookie");
  EXPECT_EQ(why_not(r, response(200, {{"Vary", "Accept, *"}})), "Vary: *");
  EXPECT_EQ(why_not(r, response(200, {{"Cache-Control", "no-store"}})), "Cache-Control: no-store");
  EXPECT_EQ(why_not(r, response(200), true), "request has Authorization");
  EXPECT_EQ(why_not(r, response(200), false, true), "request has a body");  // the key does not cover it
  EXPECT_EQ(why_not(r, response(200, {{"Cache-Control", "private"}})), "Cache-Control: private");  // even without cache_control
  auto big = response(200);
  big.content_length = 1001;
  EXPECT_EQ(why_not(r, big), "body larger than max_body_size");
  auto html = response(200);
  html.headers[0].value = "text/html";
  EXPECT_EQ(why_not(r, html), "content type not in content_type");
  auto two_types = response(200, {{"Content-Type", "text/plain"}});
  EXPECT_EQ(why_not(r, two_types), "content type not in content_type");
}

TEST(Cacheability, AuthorizedRequestsOnlyWhenTheResponseIsExplicitlyShared) {
  auto r = rules();
  EXPECT_EQ(why_not(r, response(200, {{"Cache-Control", "public"}}), true), "stored");
  EXPECT_EQ(why_not(r, response(200, {{"Cache-Control", "s-maxage=60"}}), true), "stored");
  EXPECT_EQ(why_not(r, response(200, {{"Cache-Control", "max-age=60"}}), true), "request has Authorization");
}

TEST(Cacheability, WithCacheControlTheResponseDirectivesDecide) {
  auto r = rules(true);
  EXPECT_EQ(why_not(r, response(200, {{"Cache-Control", "private, max-age=60"}})), "Cache-Control: private");
  EXPECT_EQ(why_not(r, response(200, {{"Cache-Control", "no-cache"}})), "Cache-Control: no-cache");
  EXPECT_EQ(why_not(r, response(200)), "no freshness lifetime");
  EXPECT_EQ(why_not(r, response(200, {{"Cache-Control", "max-age=0"}})), "no freshness lifetime");
  EXPECT_EQ(decide(r, response(200, {{"Cache-Control", "max-age=60, s-maxage=30"}})).ttl_seconds, 30);
  EXPECT_EQ(decide(r, response(200, {{"Cache-Control", "max-age=60"}})).ttl_seconds, 60);
  auto expires = response(200, {{"Date", "Sun, 06 Nov 1994 08:49:37 GMT"}, {"Expires", "Sun, 06 Nov 1994 08:50:37 GMT"}});
  EXPECT_EQ(decide(r, expires).ttl_seconds, 60);
  // The time it already spent in other caches counts (RFC 9111 4.2).
  EXPECT_EQ(decide(r, response(200, {{"Cache-Control", "max-age=60"}, {"Age", "45"}})).ttl_seconds, 15);
  EXPECT_EQ(why_not(r, response(200, {{"Cache-Control", "max-age=60"}, {"Age", "120"}})), "already stale (Age)");
  // Never served stale: must-revalidate, proxy-revalidate, s-maxage.
  EXPECT_FALSE(decide(r, response(200, {{"Cache-Control", "max-age=60"}})).must_revalidate);
  EXPECT_TRUE(decide(r, response(200, {{"Cache-Control", "max-age=60, must-revalidate"}})).must_revalidate);
  EXPECT_TRUE(decide(r, response(200, {{"Cache-Control", "s-maxage=60"}})).must_revalidate);
}

TEST(Cacheability, StoredHeadersLeaveOutHopByHopAndPerRequestFields) {
  http::ResponseHead h;
  h.status = 200;
  h.headers = {{"Content-Type", "text/plain"},
               {"Connection", "X-Private", http::FieldKind::connection},
               {"X-Private", "1"},
               {"Transfer-Encoding", "chunked", http::FieldKind::transfer_encoding},
               {"Age", "3"},
               {"X-Cache-Status", "Hit"},
               {"RateLimit-Remaining", "4"},
               {"Proxy-Authenticate", "Basic"},
               {"ETag", "\"v1\""}};
  h.connection_tokens = {"X-Private"};
  EXPECT_EQ(stored_header_lines(h), "Content-Type: text/plain\r\nETag: \"v1\"\r\n");
}

}  // namespace
}  // namespace portico::plugins::cache
