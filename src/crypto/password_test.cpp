#include "crypto/password.hpp"

#include <gtest/gtest.h>

namespace portico::crypto {
namespace {

TEST(Password, HashIsSaltedAndVerifies) {
  auto a = hash_password("s3cret", 1000);
  auto b = hash_password("s3cret", 1000);
  EXPECT_NE(a.salt, b.salt);      // random salt per credential
  EXPECT_NE(a.digest, b.digest);  // so equal passwords hash differently
  EXPECT_EQ(a.digest.size(), 32u);
  EXPECT_TRUE(verify_password("s3cret", a));
  EXPECT_FALSE(verify_password("s3cret ", a));
  EXPECT_FALSE(verify_password("", a));
  EXPECT_TRUE(verify_password("s3cret", b));
}

TEST(Password, MalformedHashNeverVerifies) {
  PasswordHash empty;
  EXPECT_FALSE(verify_password("", empty));
  auto h = hash_password("x", 1000);
  h.digest.pop_back();
  EXPECT_FALSE(verify_password("x", h));
}

}  // namespace
}  // namespace portico::crypto
