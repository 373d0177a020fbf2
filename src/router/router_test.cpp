#include "router/router.hpp"

#include <gtest/gtest.h>

#include "config/loader.hpp"
#include "http/h1_parser.hpp"

namespace portico::router {
namespace {

config::DeclarativeConfig load(const std::string& yaml) {
  auto r = config::load_declarative_text(yaml, "test.yml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return r.config;
}

// Matches a request given as raw HTTP head text and returns the route name ("" = none).
std::string route_for(const Router& router, const std::string& method, const std::string& path,
                      const std::string& host = "example.com", const std::string& extra_headers = "",
                      std::size_t* matched = nullptr) {
  std::string raw = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra_headers + "\r\n";
  http::RequestHead head;
  auto outcome = http::parse_request_head(raw, {}, head);
  EXPECT_EQ(outcome.state, http::ParseState::complete) << raw;
  MatchResult result;
  MatchInput in{head.method, head.host, head.path, 8000, &head};
  if (!router.match(in, result)) return "";
  if (matched) *matched = result.matched_length;
  return result.route->name;
}

const char* kPrecedenceConfig = R"(
_format_version: "3.0"
services:
- name: s
  url: http://127.0.0.1:1
  routes:
  - name: root
    paths: [/]
  - name: users
    paths: [/users]
  - name: users-long
    paths: [/users/admin]
  - name: users-post
    paths: [/users]
    methods: [POST]
  - name: users-v2
    paths: [/users]
    headers:
      x-version: [v2]
  - name: regex-low
    paths: ["~/users/\\d+$"]
    regex_priority: 0
  - name: regex-high
    paths: ["~/users/4\\d+$"]
    regex_priority: 10
  - name: host-exact
    hosts: [api.example.com]
  - name: host-wild
    hosts: ["*.example.org"]
  - name: host-wild-path
    hosts: ["*.example.net"]
    paths: [/x]
  - name: host-exact-path
    hosts: [a.example.net]
    paths: [/x]
  - name: suffix-wild
    hosts: ["shop.*"]
  - name: header-regex
    paths: [/beta]
    headers:
      x-client: ["~*^mobile-(ios|android)$"]
)";

TEST(Router, LongestPrefixWins) {
  Router r(load(kPrecedenceConfig));
  EXPECT_EQ(route_for(r, "GET", "/users/admin/x"), "users-long");
  EXPECT_EQ(route_for(r, "GET", "/users/x"), "users");
  EXPECT_EQ(route_for(r, "GET", "/other"), "root");
}

TEST(Router, MoreCategoriesWin) {
  Router r(load(kPrecedenceConfig));
  EXPECT_EQ(route_for(r, "POST", "/users"), "users-post");
  EXPECT_EQ(route_for(r, "GET", "/users", "example.com", "X-Version: V2\r\n"), "users-v2");  // values case-insensitive
  EXPECT_EQ(route_for(r, "GET", "/users", "example.com", "X-Version: v3\r\n"), "users");
}

TEST(Router, RegexBeforePrefixAndByRegexPriority) {
  Router r(load(kPrecedenceConfig));
  EXPECT_EQ(route_for(r, "GET", "/users/42"), "regex-high");
  EXPECT_EQ(route_for(r, "GET", "/users/52"), "regex-low");
  EXPECT_EQ(route_for(r, "GET", "/users/52x"), "users");
}

TEST(Router, Hosts) {
  Router r(load(kPrecedenceConfig));
  EXPECT_EQ(route_for(r, "GET", "/anything", "API.example.com"), "host-exact");
  EXPECT_EQ(route_for(r, "GET", "/anything", "api.example.com:8000"), "host-exact");
  // As in Kong: a wildcard-host-only route ranks below a "/" path route (same number of
  // categories, no plain-host bit, shorter path), so root wins here...
  EXPECT_EQ(route_for(r, "GET", "/anything", "a.b.example.org"), "root");
  EXPECT_EQ(route_for(r, "GET", "/anything", "example.org"), "root");
  EXPECT_EQ(route_for(r, "GET", "/x", "a.example.net"), "host-exact-path");  // plain host beats wildcard
  EXPECT_EQ(route_for(r, "GET", "/x", "b.example.net"), "host-wild-path");
  // ...and without the root route the wildcards match.
  Router w(load(R"(
_format_version: "3.0"
services:
- name: s
  url: http://127.0.0.1:1
  routes:
  - name: host-wild
    hosts: ["*.example.org"]
  - name: suffix-wild
    hosts: ["shop.*"]
)"));
  EXPECT_EQ(route_for(w, "GET", "/anything", "a.b.example.org"), "host-wild");
  EXPECT_EQ(route_for(w, "GET", "/anything", "example.org"), "");
  EXPECT_EQ(route_for(w, "GET", "/", "shop.example.com"), "suffix-wild");
  EXPECT_EQ(route_for(w, "GET", "/", "shop"), "");
}

// Kong's routes.snis: on TLS connections the server name must match; plain HTTP ignores them;
// a route with snis ranks above one with the same other conditions.
TEST(Router, SnisOnTlsConnections) {
  Router r(load(R"(
_format_version: "3.0"
services:
- name: s
  url: http://127.0.0.1:1
  routes:
  - name: api-sni
    paths: [/v1]
    snis: [API.example.com.]
  - name: wild-sni
    paths: [/v1]
    snis: ["*.example.org", "shop.*"]
  - name: any-sni
    protocols: [https]
    snis: ["*"]
  - name: plain
    paths: [/v1]
)"));
  auto route_over = [&](bool tls, std::string_view sni, const std::string& path = "/v1") {
    std::string raw = "GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n";
    http::RequestHead head;
    EXPECT_EQ(http::parse_request_head(raw, {}, head).state, http::ParseState::complete);
    MatchResult result;
    MatchInput in{head.method, head.host, head.path, 8443, &head, tls, sni};
    return r.match(in, result) ? result.route->name : std::string();
  };
  EXPECT_EQ(route_over(true, "api.example.com"), "api-sni");
  EXPECT_EQ(route_over(true, "Api.Example.Com."), "api-sni");  // case and the FQDN dot
  EXPECT_EQ(route_over(true, "a.b.example.org"), "wild-sni");
  EXPECT_EQ(route_over(true, "shop.example.net"), "wild-sni");
  EXPECT_EQ(route_over(true, "other.example.com"), "plain");
  EXPECT_EQ(route_over(true, ""), "plain");  // no SNI: no sni route matches
  EXPECT_EQ(route_over(false, ""), "api-sni");  // plain HTTP: snis are not a condition (Kong)
  EXPECT_EQ(route_over(true, "zzz", "/other"), "any-sni");
  EXPECT_EQ(route_over(true, "", "/other"), "");
  // snis count as a category in Kong's priority.
  config::RouteConfig with, without;
  with.paths = without.paths = {"/v1"};
  with.snis = {"a.com"};
  EXPECT_GT(Router::priority(with, &with.paths[0]), Router::priority(without, &without.paths[0]));
}

TEST(Router, HeaderRegex) {
  Router r(load(kPrecedenceConfig));
  EXPECT_EQ(route_for(r, "GET", "/beta", "example.com", "X-Client: Mobile-IOS\r\n"), "header-regex");
  EXPECT_EQ(route_for(r, "GET", "/beta", "example.com", "X-Client: desktop\r\n"), "root");
}

TEST(Router, RegexCapturesAndMatchedLength) {
  Router r(load(R"(
_format_version: "3.0"
services:
- name: s
  url: http://127.0.0.1:1
  routes:
  - name: cap
    paths: ["~/orders/(?P<id>\\d+)/items"]
)"));
  std::string raw = "GET /orders/77/items/3 HTTP/1.1\r\nHost: a\r\n\r\n";
  http::RequestHead head;
  ASSERT_EQ(http::parse_request_head(raw, {}, head).state, http::ParseState::complete);
  MatchResult m;
  ASSERT_TRUE(r.match({head.method, head.host, head.path, 8000, &head}, m));
  EXPECT_EQ(m.matched_length, std::string("/orders/77/items").size());
  ASSERT_EQ(m.captures.size(), 1u);
  EXPECT_EQ(m.captures[0], "77");
}

TEST(Router, NoMatch) {
  Router r(load(R"(
_format_version: "3.0"
services:
- name: s
  url: http://127.0.0.1:1
  routes:
  - name: a
    paths: [/a]
    methods: [GET]
)"));
  EXPECT_EQ(route_for(r, "GET", "/b"), "");
  EXPECT_EQ(route_for(r, "POST", "/a"), "");
  EXPECT_EQ(route_for(r, "GET", "/a/b"), "a");
}

TEST(Router, TenThousandPrefixRoutes) {
  // Correctness at the size of bench/router_bench.cpp, which measures the lookup time
  // (the index keeps it independent of the number of routes).
  std::string yaml = "_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:1\n  routes:\n";
  for (int i = 0; i < 10000; ++i) yaml += "  - name: r" + std::to_string(i) + "\n    paths: [/svc" + std::to_string(i) + "/api]\n";
  Router r(load(yaml));
  EXPECT_EQ(r.route_count(), 10000u);
  EXPECT_EQ(route_for(r, "GET", "/svc9999/api/x"), "r9999");
  EXPECT_EQ(route_for(r, "GET", "/svc42/api"), "r42");
  EXPECT_EQ(route_for(r, "GET", "/svc42/ap"), "");
}

TEST(PathNormalization, DecodesUnreservedAndRemovesDots) {
  std::string out;
  bool changed = false;
  ASSERT_TRUE(normalize_path("/users/1", out, changed));
  EXPECT_FALSE(changed);
  ASSERT_TRUE(normalize_path("/%75sers/./a/../b", out, changed));
  EXPECT_TRUE(changed);
  EXPECT_EQ(out, "/users/b");
  ASSERT_TRUE(normalize_path("/a%2fb%2Fc", out, changed));
  EXPECT_EQ(out, "/a%2Fb%2Fc");  // reserved stays encoded
  EXPECT_FALSE(normalize_path("/../etc/passwd", out, changed));
  ASSERT_TRUE(normalize_path("/a/..", out, changed));
  EXPECT_EQ(out, "/");
}

// Found by tests/fuzz/path_fuzz (corpus/path/regression-lone-percent, regression-made-escape):
// a '%' without two hex digits after it is no escape; the characters after it were upper-cased
// as if they were, and a decoded digit could complete it into one, so normalising twice gave
// two paths ("/%/x" -> "/%/X", "/%e%62" -> "/%eb" -> "/%EB"). (The HTTP/1.1 parser refuses such
// targets; normalisation must not depend on it.)
TEST(PathNormalization, LeavesALonePercentAndWhatFollowsIt) {
  std::string out;
  bool changed = false;
  ASSERT_TRUE(normalize_path("/%/x/%4", out, changed));
  EXPECT_EQ(changed ? out : "/%/x/%4", "/%/x/%4");
  ASSERT_TRUE(normalize_path("/%zz/./%61", out, changed));
  EXPECT_EQ(out, "/%zz/a");
  // (and a decoded digit never completes an escape with a '%' before it)
  ASSERT_TRUE(normalize_path("/%e%62/%4%31/%%341", out, changed));
  EXPECT_EQ(out, "/%e%62/%4%31/%%341");
}

// Kong's documented path_handling table (service path "/s").
TEST(UpstreamPath, KongTable) {
  EXPECT_EQ(build_upstream_path("/s", "/fv0req", 4, false, false), "/s/fv0req");
  EXPECT_EQ(build_upstream_path("/s", "/fv1req", 4, false, true), "/sfv1req");
  EXPECT_EQ(build_upstream_path("/s", "/tv0req", 4, true, false), "/s/req");
  EXPECT_EQ(build_upstream_path("/s", "/tv1req", 4, true, true), "/sreq");
  EXPECT_EQ(build_upstream_path("/s", "/fv0/req", 5, false, false), "/s/fv0/req");
  EXPECT_EQ(build_upstream_path("/s", "/fv1/req", 5, false, true), "/sfv1/req");
  EXPECT_EQ(build_upstream_path("/s", "/tv0/req", 5, true, false), "/s/req");
  EXPECT_EQ(build_upstream_path("/s", "/tv1/req", 5, true, true), "/sreq");
  // Common cases: no service path.
  EXPECT_EQ(build_upstream_path("", "/users/1", 6, true, false), "/1");
  EXPECT_EQ(build_upstream_path("", "/users", 6, true, false), "/");
  EXPECT_EQ(build_upstream_path("", "/users/1", 6, false, false), "/users/1");
  EXPECT_EQ(build_upstream_path("/api/", "/users/1", 6, true, false), "/api/1");
  EXPECT_EQ(build_upstream_path("/api", "/users", 6, true, false), "/api");
}

TEST(Priority, KongBitLayout) {
  config::RouteConfig r;
  std::string plain = "/abc";
  EXPECT_EQ(Router::priority(r, &plain) >> 61, 1u);
  r.methods = {"GET"};
  r.hosts = {"a.com"};
  EXPECT_EQ(Router::priority(r, &plain) >> 61, 3u);
  EXPECT_TRUE(Router::priority(r, &plain) & (1ULL << 60));
  std::string regex = "~/a";
  EXPECT_TRUE(Router::priority(r, &regex) & (1ULL << 51));
  EXPECT_GT(Router::priority(r, &regex), Router::priority(r, &plain));
}

}  // namespace
}  // namespace portico::router
