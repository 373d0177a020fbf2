// The cache key: what varies it, what does not, and the query's rendering.
#include "plugins/proxy-cache/cache_key.hpp"

#include <gtest/gtest.h>

#include "http/h1_parser.hpp"

namespace portico::plugins::cache {
namespace {

TEST(CacheKey, TheQueryHasKongsEquivalencesButNoAmbiguity) {
  auto same = [](std::string_view a, std::string_view b, std::vector<std::string> vary = {}) {
    return query_part(a, vary) == query_part(b, vary);
  };
  EXPECT_TRUE(same("a=1&b=2", "b=2&a=1"));              // argument order
  EXPECT_TRUE(same("a=2&a=1", "a=1&a=2"));              // a repeated argument's values
  EXPECT_TRUE(same("na%6De=v%20x", "name=v x"));        // decoded
  EXPECT_TRUE(same("a=1&b=2", "a=1&b=3", {"a"}));       // only vary_query_params count
  EXPECT_TRUE(same("a=1&c=9", "a=1", {"a", "b"}));      // absent ones are skipped
  EXPECT_FALSE(same("a=1&b=2", "a=1&b=3"));
  EXPECT_FALSE(same("a", "a="));                        // bare and empty differ
  EXPECT_FALSE(same("", "a="));
  // What Kong's `name=v1,v2:...` rendering confuses, and a client could use to poison an entry:
  EXPECT_FALSE(same("id%3D42", "id=42"));
  EXPECT_FALSE(same("a=1%3Ab%3D2", "a=1&b=2"));
  EXPECT_FALSE(same("a=1%2C2", "a=1&a=2"));
  EXPECT_FALSE(same("a&a=1", "a=1"));
}

struct Fixture {
  KeyRequest request{"route-1", "", "GET", "http", "Example.com", "/products/42", "b=2&a=1", nullptr};
  KeyRules rules;
  std::string key() const { return key_digest(cache_key_text(request, rules)); }
};

TEST(CacheKey, VariesWithEachPartAndNothingElse) {
  Fixture f;
  const std::string base = f.key();
  EXPECT_EQ(base.size(), 64u);
  EXPECT_EQ(base.find_first_not_of("0123456789abcdef"), std::string::npos);
  auto differs = [&](auto change) {
    Fixture g;
    change(g);
    return g.key() != base;
  };
  EXPECT_TRUE(differs([](Fixture& g) { g.request.route_id = "route-2"; }));
  EXPECT_TRUE(differs([](Fixture& g) { g.request.consumer_id = "alice"; }));  // never one user's answer to another
  EXPECT_TRUE(differs([](Fixture& g) { g.request.method = "HEAD"; }));
  EXPECT_TRUE(differs([](Fixture& g) { g.request.scheme = "https"; }));
  EXPECT_TRUE(differs([](Fixture& g) { g.request.host = "other.com"; }));
  EXPECT_TRUE(differs([](Fixture& g) { g.request.path = "/products/43"; }));
  EXPECT_TRUE(differs([](Fixture& g) { g.request.path = "/Products/42"; }));
  EXPECT_TRUE(differs([](Fixture& g) { g.request.query = "a=1&b=3"; }));
  EXPECT_FALSE(differs([](Fixture& g) { g.request.query = "a=1&b=2"; }));  // order of arguments
  EXPECT_FALSE(differs([](Fixture& g) { g.request.host = "EXAMPLE.COM"; }));  // host case
  EXPECT_FALSE(differs([](Fixture& g) { g.rules.ignore_uri_case = false; }));
}

TEST(CacheKey, IgnoreUriCaseAndVaryQueryParams) {
  Fixture upper, lower;
  upper.rules.ignore_uri_case = lower.rules.ignore_uri_case = true;
  upper.request.path = "/PRODUCTS/42";
  EXPECT_EQ(upper.key(), lower.key());
  Fixture only_a, only_a_other_b;
  only_a.rules.vary_query_params = only_a_other_b.rules.vary_query_params = {"a"};
  only_a_other_b.request.query = "a=1&b=999&utm_source=x";
  EXPECT_EQ(only_a.key(), only_a_other_b.key());
}

TEST(CacheKey, PartsCannotBeShiftedIntoEachOther) {
  // Without lengths, "ab" + "c" and "a" + "bc" would read the same.
  Fixture one, two;
  one.request.route_id = "r|1";
  one.request.consumer_id = "";
  two.request.route_id = "r";
  two.request.consumer_id = "|1";
  EXPECT_NE(one.key(), two.key());
}

TEST(CacheKey, VaryHeadersTakeEveryValueOfTheNamedHeaders) {
  std::string raw_a = "GET / HTTP/1.1\r\nHost: x\r\nAccept-Language: fr\r\nX-Other: 1\r\n\r\n";
  std::string raw_b = "GET / HTTP/1.1\r\nHost: x\r\nAccept-Language: de\r\nX-Other: 2\r\n\r\n";
  std::string raw_c = "GET / HTTP/1.1\r\nHost: x\r\naccept-language: fr\r\nX-Other: 3\r\n\r\n";
  http::RequestHead a, b, c;
  http::ParserLimits limits;
  ASSERT_EQ(http::parse_request_head(raw_a, limits, a).state, http::ParseState::complete);
  ASSERT_EQ(http::parse_request_head(raw_b, limits, b).state, http::ParseState::complete);
  ASSERT_EQ(http::parse_request_head(raw_c, limits, c).state, http::ParseState::complete);
  Fixture fa, fb, fc, none_a;
  for (Fixture* f : {&fa, &fb, &fc}) f->rules.vary_headers = {"accept-language"};
  fa.request.headers = &a;
  fb.request.headers = &b;
  fc.request.headers = &c;
  none_a.request.headers = &a;
  EXPECT_NE(fa.key(), fb.key());
  EXPECT_EQ(fa.key(), fc.key());  // X-Other is not a vary header; names are case-insensitive
  Fixture none_b;
  none_b.request.headers = &b;
  EXPECT_EQ(none_a.key(), none_b.key());  // without vary_headers, headers do not count
}

}  // namespace
}  // namespace portico::plugins::cache
