#include "obs/sharded_series.hpp"

#include <gtest/gtest.h>

#include <map>
#include <thread>

namespace portico::obs {
namespace {

struct Hits {
  int count = 0;
};

TEST(SeriesKey, JoinsAndSplitsLabelValues) {
  std::string key = "left over from an earlier, longer key";
  build_series_key(key, {"users", std::string_view{}, "alice"});  // a view with no data at all
  EXPECT_EQ(key, std::string("users\0\0alice\0", 13));
  auto parts = split_series_key(key);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], "users");
  EXPECT_EQ(parts[1], "");
  EXPECT_EQ(parts[2], "alice");
}

TEST(SeriesKey, RecognisesItsLabelValuesOnly) {
  std::string key;
  build_series_key(key, {"ab", "c", ""});
  EXPECT_TRUE(series_key_is(key, {"ab", "c", ""}));
  EXPECT_FALSE(series_key_is(key, {"a", "bc", ""}));   // the same bytes, split elsewhere
  EXPECT_FALSE(series_key_is(key, {"ab", "c"}));       // fewer values
  EXPECT_FALSE(series_key_is(key, {"ab", "c", "", ""}));  // more values
  EXPECT_FALSE(series_key_is(key, {"ab", "d", ""}));
  EXPECT_FALSE(series_key_is(key, {"abc", "", ""}));
  EXPECT_TRUE(series_key_is(std::string_view{}, {}));
  EXPECT_FALSE(series_key_is(std::string_view{}, {""}));
}

// The last series found is remembered: alternating, repeated and new label values must each
// land on their own series, and a scrape sees one series per label set.
TEST(ShardedSeries, EachLabelSetHasItsOwnSeries) {
  static ShardedSeries<Hits> family;
  for (int i = 0; i < 3; ++i) {
    family.find({"a", "r1"})->count++;
    family.find({"a", "r1"})->count++;
    family.find({"a", "r2"})->count++;
    family.find({"a\0r", "1"})->count++;  // the same bytes joined differently: another series
  }
  EXPECT_EQ(family.find({"a", "r1"}), family.find({"a", "r1"}));
  EXPECT_NE(family.find({"a", "r1"}), family.find({"a", "r2"}));
  std::thread other([] { family.find({"a", "r1"})->count += 100; });  // another thread: its own shard
  other.join();
  std::map<std::string, int> seen;
  family.for_each([&](std::string_view key, const Hits& hits) { seen[std::string(key)] += hits.count; });
  EXPECT_EQ(seen[std::string("a\0r1\0", 5)], 106);
  EXPECT_EQ(seen[std::string("a\0r2\0", 5)], 3);
  EXPECT_EQ(seen.size(), 3u);
}

}  // namespace
}  // namespace portico::obs
