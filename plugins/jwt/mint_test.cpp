// Tokens Portico signs: each algorithm issue_jwt offers round-trips through the verifier with
// the public half only, and a public key cannot sign.
#include "plugins/jwt/mint.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json.hpp>

namespace portico::plugins::jwt {
namespace {

// A fresh key pair as PEM (private, public).
std::pair<std::string, std::string> key_pair(const char* type, const char* curve_or_bits) {
  EVP_PKEY* k = std::string(type) == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))
                : std::string(type) == "EC" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve_or_bits)
                                            : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  EXPECT_NE(k, nullptr);
  auto pem = [&](bool priv) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (priv) PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
    else PEM_write_bio_PUBKEY(bio, k);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    return out;
  };
  auto both = std::make_pair(pem(true), pem(false));
  EVP_PKEY_free(k);
  return both;
}

void round_trip(Alg alg, const std::string& private_material, const std::string& public_material) {
  SCOPED_TRACE(std::string(alg_name(alg)));
  std::string error;
  auto signer = make_signing_key(alg, private_material, error);
  ASSERT_TRUE(signer) << error;
  const boost::json::object claims{{"sub", "alice"}, {"exp", 2000000000}};
  const std::string token = mint_token(*signer, "k1", claims);
  ASSERT_FALSE(token.empty());
  auto verifier = make_key(alg, public_material, false, error);  // the secret, or the public key only
  ASSERT_TRUE(verifier) << error;
  Token decoded;
  ASSERT_TRUE(decode_token(token, decoded, error)) << error;
  EXPECT_EQ(decoded.header.at("alg").as_string(), alg_name(alg));
  EXPECT_EQ(decoded.header.at("kid").as_string(), "k1");
  EXPECT_EQ(decoded.claims.at("sub").as_string(), "alice");
  EXPECT_TRUE(verify_signature(*verifier, decoded.signing_input, decoded.signature));
  std::string tampered = decoded.signature;
  tampered[tampered.size() / 2] ^= 1;
  EXPECT_FALSE(verify_signature(*verifier, decoded.signing_input, tampered));
  if (!is_hmac(alg)) {
    EXPECT_FALSE(sign(*verifier, "x.y")) << "a public key signed";
  }
}

TEST(Mint, EveryIssueJwtAlgorithmRoundTrips) {
  round_trip(Alg::HS256, "a secret of thirty-two characters!!", "a secret of thirty-two characters!!");
  round_trip(Alg::HS512, "a secret of thirty-two characters!!", "a secret of thirty-two characters!!");
  auto rsa = key_pair("RSA", nullptr);
  round_trip(Alg::RS256, rsa.first, rsa.second);
  round_trip(Alg::PS256, rsa.first, rsa.second);
  auto ec = key_pair("EC", "P-256");
  round_trip(Alg::ES256, ec.first, ec.second);
  auto ed = key_pair("ED25519", nullptr);
  round_trip(Alg::EdDSA, ed.first, ed.second);
}

TEST(Mint, KeysThatDoNotSuitTheAlgorithmAreRefused) {
  std::string error;
  auto ec = key_pair("EC", "P-256");
  EXPECT_FALSE(make_signing_key(Alg::RS256, ec.first, error));
  EXPECT_EQ(error, "an RSA key is required for RS256");
  EXPECT_FALSE(make_signing_key(Alg::ES384, ec.first, error));
  EXPECT_FALSE(make_signing_key(Alg::ES256, ec.second, error));  // a public key
  EXPECT_EQ(error, "not an unencrypted PEM private key");
  EXPECT_FALSE(make_signing_key(Alg::HS256, "", error));
}

}  // namespace
}  // namespace portico::plugins::jwt
