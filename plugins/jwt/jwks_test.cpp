#include "plugins/jwt/jwks.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "crypto/base64.hpp"

namespace portico::plugins::jwt {
namespace {

// A P-256 key whose x coordinate starts with a zero byte, published as PyJWT 2.6 does:
// x is 31 bytes, not the 32 RFC 7518 asks for. The token was signed with its private key.
constexpr const char* kShortX = R"({"keys":[{"kty":"EC","crv":"P-256","kid":"short","alg":"ES256",
  "x":"29Ein_m2juQa5j8Geb9UAAms5e08U-e09rgUXNrP3g","y":"4K33KeqQYIhshhXknQEvQQXutvA2LfhORwR33B7RoxM"}]})";
constexpr const char* kSigningInput = "eyJhbGciOiJFUzI1NiIsImtpZCI6InNob3J0IiwidHlwIjoiSldUIn0.eyJzdWIiOiJhIn0";
constexpr const char* kSignature =
    "WKsGNhBQZk88AjVXBAT1ko9sx4vuRI_zke2CZBcBtSFcHkLHtP86eeo1kDB-exnSc9UdVErce3RC7q61HzzDIA";

TEST(Jwks, EcCoordinateWithoutItsLeadingZeroIsPaddedAndVerifies) {
  std::string skipped;
  KeyMap keys = parse_jwks(boost::json::parse(kShortX), skipped);
  ASSERT_EQ(keys.size(), 1u) << skipped;
  std::string signature;
  ASSERT_TRUE(crypto::base64url_decode(kSignature, signature));
  EXPECT_TRUE(verify_signature(keys.begin()->second, kSigningInput, signature));
  signature[5] ^= 1;
  EXPECT_FALSE(verify_signature(keys.begin()->second, kSigningInput, signature));
}

TEST(Jwks, EcCoordinateLongerThanTheCurveIsSkippedWithAReason) {
  std::string text = kShortX;
  text.replace(text.find("29Ein"), 5, "AAAA29Ein");  // 34 bytes
  std::string skipped;
  KeyMap keys = parse_jwks(boost::json::parse(text), skipped);
  EXPECT_TRUE(keys.empty());
  EXPECT_NE(skipped.find("'short'"), std::string::npos) << skipped;
}

}  // namespace
}  // namespace portico::plugins::jwt
