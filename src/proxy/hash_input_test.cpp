#include "proxy/hash_input.hpp"

#include <gtest/gtest.h>

#include "config/loader.hpp"
#include "http/h1_parser.hpp"
#include "http/params.hpp"

namespace portico::proxy {
namespace {

config::UpstreamConfig upstream(const std::string& on, const std::string& fallback = "none") {
  config::UpstreamConfig u;
  u.algorithm = "consistent-hashing";
  u.hash_on = on;
  u.hash_fallback = fallback;
  u.hash_on_header = "x-user";
  u.hash_fallback_header = "x-device";
  u.hash_on_cookie = "sticky";
  u.hash_on_query_arg = "tenant";
  u.hash_fallback_query_arg = "region";
  u.hash_on_uri_capture = "account";
  return u;
}

struct Parsed {
  std::string raw;
  http::RequestHead head;
  explicit Parsed(std::string text) : raw(std::move(text)) {
    auto outcome = http::parse_request_head(raw, http::ParserLimits{}, head);
    EXPECT_EQ(outcome.state, http::ParseState::complete);
  }
};

TEST(HashInput, EachInputKind) {
  Parsed p("GET /accounts/42/x?tenant=acme&region=eu HTTP/1.1\r\nHost: a\r\nX-User: u1\r\nCookie: a=1; sticky=s9\r\n\r\n");
  HashInputs in{"10.0.0.7", "/accounts/42/x", "", &p.head, nullptr};
  EXPECT_EQ(balancing_key(upstream("ip"), in).key, "10.0.0.7");
  EXPECT_EQ(balancing_key(upstream("header"), in).key, "u1");
  EXPECT_EQ(balancing_key(upstream("cookie"), in).key, "s9");
  EXPECT_EQ(balancing_key(upstream("path"), in).key, "/accounts/42/x");
  EXPECT_EQ(balancing_key(upstream("query_arg"), in).key, "acme");
  EXPECT_EQ(balancing_key(upstream("none"), in).key, "");
}

TEST(HashInput, FallbackWhenThePrimaryHasNoValue) {
  Parsed p("GET /?region=eu HTTP/1.1\r\nHost: a\r\nX-Device: d7\r\n\r\n");
  HashInputs in{"10.0.0.7", "/", "", &p.head, nullptr};
  EXPECT_EQ(balancing_key(upstream("header", "header"), in).key, "d7");
  EXPECT_EQ(balancing_key(upstream("query_arg", "query_arg"), in).key, "eu");
  EXPECT_EQ(balancing_key(upstream("consumer", "ip"), in).key, "10.0.0.7");  // no consumer yet
}

TEST(HashInput, MintsACookieWhenAbsent) {
  Parsed p("GET / HTTP/1.1\r\nHost: a\r\nCookie: other=1\r\n\r\n");
  HashInputs in{"10.0.0.7", "/", "", &p.head, nullptr};
  auto first = balancing_key(upstream("cookie"), in);
  auto second = balancing_key(upstream("cookie"), in);
  EXPECT_EQ(first.minted_cookie.size(), 32u);
  EXPECT_EQ(first.key, first.minted_cookie);
  EXPECT_NE(first.minted_cookie, second.minted_cookie);
}

TEST(HashInput, NamedUriCaptureOfTheMatchedRoute) {
  auto loaded = config::load_declarative_text(R"(_format_version: "3.0"
services:
- name: s
  url: http://127.0.0.1:1
  routes:
  - paths: ["~/accounts/(?P<account>\\d+)/"]
)", "kong.yml");
  ASSERT_TRUE(loaded.ok());
  router::Router r(loaded.config);
  Parsed p("GET /accounts/42/x HTTP/1.1\r\nHost: a\r\n\r\n");
  router::MatchResult m;
  ASSERT_TRUE(r.match({"GET", "a", "/accounts/42/x", 8000, &p.head}, m));
  HashInputs in{"10.0.0.7", "/accounts/42/x", "", &p.head, &m};
  EXPECT_EQ(balancing_key(upstream("uri_capture"), in).key, "42");
}

TEST(Params, CookieAndQueryParsing) {
  EXPECT_EQ(http::cookie_value("a=1; b=\"two\" ;c=3", "b"), "two");
  EXPECT_EQ(http::cookie_value("a=1; bb=2", "b"), "");
  EXPECT_EQ(http::cookie_value("novalue; b=2", "b"), "2");
  EXPECT_EQ(http::query_value("a=1&b=2&b=3", "b"), "2");
  EXPECT_EQ(http::query_value("flag&x=1", "flag"), "");
  EXPECT_EQ(http::query_value("", "x"), "");
}

}  // namespace
}  // namespace portico::proxy
