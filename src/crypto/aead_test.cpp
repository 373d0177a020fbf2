#include "crypto/aead.hpp"

#include <gtest/gtest.h>

#include "crypto/digest.hpp"

namespace portico::crypto {
namespace {

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

TEST(Hmac, MatchesRfc4231TestCase2) {
  EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hkdf, MatchesRfc5869TestCase1) {
  std::string okm = hkdf_sha256(std::string(22, '\x0b'), unhex("000102030405060708090a0b0c"), unhex("f0f1f2f3f4f5f6f7f8f9"), 42);
  EXPECT_EQ(hex_encode(okm), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(Aes256Gcm, MatchesTheGcmSpecTestCase14) {
  // McGrew and Viega, "The Galois/Counter Mode of Operation", test case 14: zero key, IV and block.
  Aes256Gcm gcm(std::string(32, '\0'));
  std::string sealed = gcm.seal(std::string(12, '\0'), "", std::string(16, '\0'));
  EXPECT_EQ(hex_encode(sealed), "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
  auto opened = gcm.open(std::string(12, '\0'), "", sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, std::string(16, '\0'));
}

TEST(Aes256Gcm, RefusesAnyChangeToCiphertextTagOrAdditionalData) {
  Aes256Gcm gcm(random_bytes(32));
  const std::string nonce = random_bytes(12);
  const std::string sealed = gcm.seal(nonce, "header", "the session");
  ASSERT_EQ(gcm.open(nonce, "header", sealed).value_or(""), "the session");
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    std::string changed = sealed;
    changed[i] ^= 0x01;
    EXPECT_FALSE(gcm.open(nonce, "header", changed)) << "bit flipped at byte " << i;
  }
  EXPECT_FALSE(gcm.open(nonce, "Header", sealed));
  EXPECT_FALSE(gcm.open(random_bytes(12), "header", sealed));
  EXPECT_FALSE(gcm.open(nonce, "header", sealed.substr(0, 15)));  // shorter than a tag
  EXPECT_FALSE(Aes256Gcm(random_bytes(32)).open(nonce, "header", sealed));
}

TEST(Random, GivesTheLengthAskedAndDifferentBytes) {
  EXPECT_EQ(random_bytes(0), "");
  EXPECT_EQ(random_bytes(32).size(), 32u);
  EXPECT_NE(random_bytes(16), random_bytes(16));
}

TEST(ConstantTime, ComparesBytes) {
  EXPECT_TRUE(equal_constant_time("abc", "abc"));
  EXPECT_FALSE(equal_constant_time("abc", "abd"));
  EXPECT_FALSE(equal_constant_time("abc", "abcd"));
}

}  // namespace
}  // namespace portico::crypto
