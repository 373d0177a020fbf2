#include "http/params.hpp"

#include <gtest/gtest.h>

namespace portico::http {
namespace {

TEST(PercentDecode, DecodesEscapesAndPlusesAmongRunsOfPlainCharacters) {
  std::string out;
  ASSERT_TRUE(percent_decode("%7Bdashboard%7Buser+id%7D%7D", out));
  EXPECT_EQ(out, "{dashboard{user id}}");
  ASSERT_TRUE(percent_decode("a+b%2Bc", out, false));
  EXPECT_EQ(out, "a+b+c");
  ASSERT_TRUE(percent_decode("plain", out));
  EXPECT_EQ(out, "plain");
  ASSERT_TRUE(percent_decode("", out));
  EXPECT_EQ(out, "");
  ASSERT_TRUE(percent_decode("%e2%82%ac", out));
  EXPECT_EQ(out, "\xe2\x82\xac");
}

TEST(PercentDecode, RefusesTruncatedOrNonHexEscapes) {
  std::string out;
  EXPECT_FALSE(percent_decode("abc%", out));
  EXPECT_FALSE(percent_decode("abc%4", out));
  EXPECT_FALSE(percent_decode("%zz", out));
  EXPECT_FALSE(percent_decode("ok%4g", out));
}

}  // namespace
}  // namespace portico::http
