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

TEST(Password, ConfigHashesAreReusedForTheSamePairOnly) {
  auto a = hash_password_for_config("alice", "pw1");
  auto again = hash_password_for_config("alice", "pw1");
  EXPECT_EQ(a.salt, again.salt);  // a reload does not pay PBKDF2 again
  EXPECT_EQ(a.digest, again.digest);
  auto other_password = hash_password_for_config("alice", "pw2");
  auto other_user = hash_password_for_config("bob", "pw1");
  EXPECT_NE(a.salt, other_password.salt);
  EXPECT_NE(a.salt, other_user.salt);
  EXPECT_TRUE(verify_password("pw1", again));
  EXPECT_FALSE(verify_password("pw2", again));
}

}  // namespace
}  // namespace portico::crypto
