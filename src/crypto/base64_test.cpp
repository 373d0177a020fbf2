#include "crypto/base64.hpp"

#include <gtest/gtest.h>

namespace portico::crypto {
namespace {

TEST(Base64, DecodesCanonicalInputOnly) {
  std::string out;
  ASSERT_TRUE(base64_decode("dXNlcjpwYXNz", out));
  EXPECT_EQ(out, "user:pass");
  ASSERT_TRUE(base64_decode("YQ==", out));
  EXPECT_EQ(out, "a");
  EXPECT_FALSE(base64_decode("YQ=", out));     // bad padding
  EXPECT_FALSE(base64_decode("YQ", out));      // padding required
  EXPECT_FALSE(base64_decode("YR==", out));    // non-zero leftover bits
  EXPECT_FALSE(base64_decode("dXNl cjpw", out));  // whitespace
  EXPECT_FALSE(base64_decode("dXNl-jpw", out));   // url alphabet
}

TEST(Base64, EncodesWithPadding) {
  EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
  EXPECT_EQ(base64_encode("a"), "YQ==");
  EXPECT_EQ(base64_encode("ab"), "YWI=");
}

TEST(Base64Url, RoundTripsAndRejectsPaddingAndStandardAlphabet) {
  std::string out;
  for (std::string s : {"", "a", "ab", "abc", "\xff\xfe\xfd", "{\"alg\":\"HS256\"}"}) {
    ASSERT_TRUE(base64url_decode(base64url_encode(s), out)) << s;
    EXPECT_EQ(out, s);
  }
  EXPECT_FALSE(base64url_decode("YQ==", out));
  EXPECT_FALSE(base64url_decode("a+b/", out));
  EXPECT_FALSE(base64url_decode("YR", out));
  EXPECT_FALSE(base64url_decode("Y", out));
}

}  // namespace
}  // namespace portico::crypto
