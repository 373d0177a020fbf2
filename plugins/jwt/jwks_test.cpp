#include "plugins/jwt/jwks.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "crypto/base64.hpp"
#include "plugins/jwt/mint.hpp"

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

// RFC 8037 appendix A: the Ed25519 private key (A.1) signs "Example of Ed25519 signing" into
// the signature of A.4 (Ed25519 is deterministic).
TEST(Jwks, PrivateOkpJwkSignsAsRfc8037Says) {
  const auto jwk = boost::json::parse(R"({"kty":"OKP","crv":"Ed25519",
      "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})").as_object();
  std::string error;
  auto key = signing_key_from_jwk(jwk, "", error);
  ASSERT_TRUE(key) << error;
  auto signature = sign(*key, "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc");
  ASSERT_TRUE(signature);
  EXPECT_EQ(crypto::base64url_encode(*signature),
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
}

// A JWK member from one of the key's numbers.
std::string b64_param(EVP_PKEY* k, const char* name) {
  BIGNUM* n = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(k, name, &n), 1) << name;
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(n)), '\0');
  BN_bn2bin(n, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(n);
  return crypto::base64url_encode(bytes);
}

TEST(Jwks, PrivateRsaJwkSignsWhatItsPublicHalfVerifies) {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  ASSERT_NE(k, nullptr);
  boost::json::object jwk{{"kty", "RSA"}, {"kid", "client-1"}};
  for (auto [member, param] : {std::pair{"n", OSSL_PKEY_PARAM_RSA_N}, {"e", OSSL_PKEY_PARAM_RSA_E}, {"d", OSSL_PKEY_PARAM_RSA_D},
                               {"p", OSSL_PKEY_PARAM_RSA_FACTOR1}, {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
                               {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1}, {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
                               {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}}) {
    jwk[member] = b64_param(k, param);
  }
  EVP_PKEY_free(k);
  std::string error;
  auto signer = signing_key_from_jwk(jwk, "PS256", error);
  ASSERT_TRUE(signer) << error;
  const std::string token = mint_token(*signer, "client-1", {{"iss", "portico"}});
  ASSERT_FALSE(token.empty());
  // The public half, as the provider publishes it, verifies the token.
  boost::json::object public_jwk{{"kty", "RSA"}, {"kid", "client-1"}, {"alg", "PS256"}, {"n", jwk["n"]}, {"e", jwk["e"]}};
  std::string skipped;
  KeyMap keys = parse_jwks(boost::json::object{{"keys", boost::json::array{public_jwk}}}, skipped);
  ASSERT_EQ(keys.size(), 1u) << skipped;
  Token decoded;
  ASSERT_TRUE(decode_token(token, decoded, error)) << error;
  EXPECT_TRUE(verify_signature(keys.at("client-1"), decoded.signing_input, decoded.signature));
  // Without its private members it cannot sign; a public key is no client key.
  jwk.erase("qi");
  EXPECT_FALSE(signing_key_from_jwk(jwk, "RS256", error));
  EXPECT_EQ(error, "not a private RSA key (its private members are missing or invalid)");
  EXPECT_FALSE(signing_key_from_jwk(jwk, "none", error));
  EXPECT_EQ(error, "unsupported alg 'none'");
}

}  // namespace
}  // namespace portico::plugins::jwt
