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

TEST(PasswordHash, StoredFormRoundTripsAndRefusesAnythingElse) {
  PasswordHash h = hash_password("secret", 1000);
  std::string text = encode_password_hash(h);
  EXPECT_EQ(text.rfind("pbkdf2-sha256$1000$", 0), 0u) << text;
  PasswordHash back;
  ASSERT_TRUE(decode_password_hash(text, back));
  EXPECT_TRUE(verify_password("secret", back));
  EXPECT_FALSE(verify_password("other", back));
  for (const char* bad : {"", "secret", "pbkdf2-sha256$", "pbkdf2-sha256$999$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                          "pbkdf2-sha256$1000$c2FsdA==$AAAA", "pbkdf2-sha256$x$a$b", "md5$1000$a$b"}) {
    EXPECT_FALSE(decode_password_hash(bad, back)) << bad;
  }
}

}  // namespace
}  // namespace portico::crypto
