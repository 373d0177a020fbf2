#include "http/caching.hpp"

#include <gtest/gtest.h>

namespace portico::http {
namespace {

TEST(CacheControlTest, ReadsDirectivesCaseInsensitivelyWithNumbers) {
  auto cc = parse_cache_control("Public, MAX-AGE=60, s-maxage=\"30\", must-revalidate");
  EXPECT_TRUE(cc.is_public);
  EXPECT_TRUE(cc.must_revalidate);
  EXPECT_EQ(cc.max_age, 60);
  EXPECT_EQ(cc.s_maxage, 30);
  EXPECT_FALSE(cc.no_store);
  EXPECT_EQ(cc.min_fresh, -1);
}

TEST(CacheControlTest, FlagsAndBadNumbers) {
  auto cc = parse_cache_control("no-store,private, no-cache=\"Set-Cookie\", max-age=abc, only-if-cached");
  EXPECT_TRUE(cc.no_store);
  EXPECT_TRUE(cc.is_private);
  EXPECT_TRUE(cc.no_cache);
  EXPECT_TRUE(cc.only_if_cached);
  EXPECT_EQ(cc.max_age, -1);  // not a number: as if absent
  EXPECT_EQ(parse_cache_control("max-stale").max_stale, 365LL * 24 * 3600);
  EXPECT_EQ(parse_cache_control("max-stale=5").max_stale, 5);
  EXPECT_EQ(parse_cache_control("max-age=99999999999999999999").max_age, 2147483648);
}

TEST(CacheControlTest, CombinesEveryField) {
  MessageHead head;
  head.headers.push_back({"Cache-Control", "max-age=10"});
  head.headers.push_back({"cache-control", "no-store"});
  auto cc = cache_control_of(head);
  EXPECT_EQ(cc.max_age, 10);
  EXPECT_TRUE(cc.no_store);
}

TEST(HttpDateTest, ReadsTheThreeFormats) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
  EXPECT_EQ(format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST(HttpDateTest, RefusesWhatIsNotADate) {
  EXPECT_FALSE(parse_http_date("0"));
  EXPECT_FALSE(parse_http_date("-1"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37"));
  EXPECT_FALSE(parse_http_date(""));
}

TEST(MediaTypeTest, MatchesAsKong) {
  auto expect = [](std::string_view e, std::string_view a) {
    auto pe = parse_media_type(e);
    auto pa = parse_media_type(a);
    return pe && pa && media_type_matches(*pe, *pa);
  };
  EXPECT_TRUE(expect("application/json", "Application/JSON"));
  EXPECT_FALSE(expect("application/json", "application/json; charset=utf-8"));
  EXPECT_TRUE(expect("application/json; charset=utf-8", "application/json;charset=utf-8"));
  EXPECT_FALSE(expect("application/json; charset=utf-8", "application/json; charset=UTF-8"));  // values as given
  EXPECT_TRUE(expect("*/*", "application/xml"));
  EXPECT_TRUE(expect("*", "text/html"));
  EXPECT_TRUE(expect("application/*", "application/xml"));
  EXPECT_FALSE(expect("application/*", "text/xml"));
  EXPECT_FALSE(expect("application/xml", "application/xml;"));  // not a media type
  EXPECT_FALSE(parse_media_type("text"));
  EXPECT_FALSE(parse_media_type(""));
}

TEST(EtagTest, WeakComparisonAndLists) {
  EXPECT_TRUE(etag_matches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("\"x\", \"abc\"", "W/\"abc\""));
  EXPECT_FALSE(etag_matches("\"abcd\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("*", "\"abc\""));
  EXPECT_FALSE(etag_matches("*", ""));
  EXPECT_FALSE(etag_matches("\"abc\"", ""));
}

}  // namespace
}  // namespace portico::http
