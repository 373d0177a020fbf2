#include "plugins/basic-auth/password_cache.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace portico::plugins {
namespace {

using namespace std::chrono_literals;

TEST(PasswordCache, RemembersVerdictsPerCredentialAndPassword) {
  PasswordCache cache(60s, 100, 10);
  auto hash = crypto::hash_password("pw", 1000);
  EXPECT_EQ(cache.lookup("cred-1", hash, "pw"), PasswordCache::Verdict::unknown);
  cache.remember("cred-1", hash, "pw", true);
  cache.remember("cred-1", hash, "wrong", false);
  EXPECT_EQ(cache.lookup("cred-1", hash, "pw"), PasswordCache::Verdict::match);
  EXPECT_EQ(cache.lookup("cred-1", hash, "wrong"), PasswordCache::Verdict::mismatch);
  EXPECT_EQ(cache.lookup("cred-2", hash, "pw"), PasswordCache::Verdict::unknown);
  // A new hash for the same credential (a changed password) does not reuse the verdict.
  auto changed = crypto::hash_password("pw", 1000);
  EXPECT_EQ(cache.lookup("cred-1", changed, "pw"), PasswordCache::Verdict::unknown);
}

TEST(PasswordCache, VerdictsExpire) {
  PasswordCache cache(std::chrono::seconds(0), 100, 10);
  auto hash = crypto::hash_password("pw", 1000);
  cache.remember("c", hash, "pw", true);
  EXPECT_EQ(cache.lookup("c", hash, "pw"), PasswordCache::Verdict::unknown);
}

TEST(PasswordCache, SlowChecksAreCappedPerSecond) {
  PasswordCache cache(60s, 100, 5);
  int granted = 0;
  for (int i = 0; i < 50; ++i) granted += cache.take_check_token() ? 1 : 0;
  EXPECT_EQ(granted, 5);  // the bucket holds one second's worth
  std::this_thread::sleep_for(250ms);
  EXPECT_TRUE(cache.take_check_token());  // refilled at 5 per second
}

TEST(PasswordCache, StaysBoundedUnderAFloodOfGuesses) {
  PasswordCache cache(60s, 10, 1000);
  auto hash = crypto::hash_password("pw", 1000);
  for (int i = 0; i < 100; ++i) cache.remember("c", hash, "guess-" + std::to_string(i), false);
  int remembered = 0;
  for (int i = 0; i < 100; ++i) {
    remembered += cache.lookup("c", hash, "guess-" + std::to_string(i)) != PasswordCache::Verdict::unknown ? 1 : 0;
  }
  EXPECT_LE(remembered, 10);
}

}  // namespace
}  // namespace portico::plugins
