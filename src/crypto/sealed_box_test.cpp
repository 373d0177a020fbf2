#include "crypto/sealed_box.hpp"

#include <gtest/gtest.h>

#include "crypto/base64.hpp"

namespace portico::crypto {
namespace {

const std::string kSecret = "a secret of at least thirty-two characters";
const std::string kOldSecret = "the previous secret, still accepted for a while";

TEST(SealedBox, OpensWhatItSealedAndNothingElse) {
  SealedBox box({kSecret}, "session");
  const std::string text = box.seal(R"({"sub":"alice"})");
  EXPECT_EQ(box.open(text).value_or(""), R"({"sub":"alice"})");
  EXPECT_NE(box.seal("same"), box.seal("same"));  // a fresh nonce each time
  EXPECT_EQ(text.find_first_of("+/="), std::string::npos);  // cookie-safe base64url
  EXPECT_FALSE(box.open(""));
  EXPECT_FALSE(box.open("not base64url!"));
  EXPECT_FALSE(box.open(base64url_encode("short")));
}

TEST(SealedBox, RefusesEveryChangedByte) {
  SealedBox box({kSecret}, "session");
  std::string raw;
  ASSERT_TRUE(base64url_decode(box.seal("payload"), raw));
  for (std::size_t i = 0; i < raw.size(); ++i) {
    std::string changed = raw;
    changed[i] ^= 0x40;
    EXPECT_FALSE(box.open(base64url_encode(changed))) << "byte " << i;
  }
}

TEST(SealedBox, KeepsPurposesAndSecretsApart) {
  SealedBox session({kSecret}, "session");
  SealedBox authorization({kSecret}, "authorization");
  SealedBox other({"another secret, never configured here"}, "session");
  const std::string text = session.seal("payload");
  EXPECT_FALSE(authorization.open(text));
  EXPECT_FALSE(other.open(text));
}

TEST(SealedBox, RotatesSecrets) {
  SealedBox before({kOldSecret}, "session");
  SealedBox after({kSecret, kOldSecret}, "session");
  SealedBox retired({kSecret}, "session");
  const std::string old_text = before.seal("old");
  EXPECT_EQ(after.open(old_text).value_or(""), "old");  // still accepted during the rotation
  EXPECT_FALSE(retired.open(old_text));                   // and not once the old secret is gone
  const std::string new_text = after.seal("new");       // the first secret seals
  EXPECT_EQ(retired.open(new_text).value_or(""), "new");
  EXPECT_FALSE(before.open(new_text));
}

TEST(SealedBox, RefusesTextsOverTheLimit) {
  SealedBox box({kSecret}, "session");
  const std::string text = box.seal(std::string(1000, 'x'));
  EXPECT_TRUE(box.open(text, text.size()));
  EXPECT_FALSE(box.open(text, text.size() - 1));
  EXPECT_THROW(SealedBox({}, "session"), std::invalid_argument);
}

}  // namespace
}  // namespace portico::crypto
