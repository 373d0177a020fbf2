#include "plugins/jwt/jws.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto/base64.hpp"
#include "plugins/jwt/strict_json.hpp"

namespace portico::plugins::jwt {
namespace {

TEST(StrictJson, RejectsDuplicatesAtAnyDepthIncludingEscapedSpellings) {
  boost::json::object o;
  std::string error;
  EXPECT_TRUE(parse_strict_object(R"({"a":1,"b":{"a":2}})", o, error));
  EXPECT_FALSE(parse_strict_object(R"({"a":1,"a":2})", o, error));
  EXPECT_EQ(error, "duplicate member name");
  EXPECT_FALSE(parse_strict_object(R"({"x":{"k":1,"k":1}})", o, error));
  EXPECT_FALSE(parse_strict_object(R"({"a":1,"\u0061":2})", o, error));
  EXPECT_FALSE(parse_strict_object(R"({"a":1,})", o, error));      // trailing comma
  EXPECT_FALSE(parse_strict_object(R"({"a":1} x)", o, error));     // trailing bytes
  EXPECT_FALSE(parse_strict_object("{\"a\":\"\xff\"}", o, error));  // invalid UTF-8
  EXPECT_FALSE(parse_strict_object("[1]", o, error));
}

// Found by tests/fuzz/jwt_token_fuzz (corpus/jwt_token/regression-infinite-number).
TEST(StrictJson, RefusesNumbersBeyondADoublesRange) {
  boost::json::object o;
  std::string error;
  EXPECT_FALSE(parse_strict_object(R"({"exp":1e400})", o, error));
  EXPECT_EQ(error, "number out of range");
  EXPECT_FALSE(parse_strict_object(R"({"n":[-7.5e3333]})", o, error));
  ASSERT_TRUE(parse_strict_object(R"({"exp":1.7e308,"small":1e-400})", o, error)) << error;  // (underflow is 0)
  EXPECT_EQ(o.at("small").as_double(), 0.0);
}

TEST(Jws, AlgorithmNamesAreExactAndNoneIsUnknown) {
  EXPECT_EQ(parse_alg("RS256"), Alg::RS256);
  EXPECT_EQ(parse_alg("EdDSA"), Alg::EdDSA);
  EXPECT_FALSE(parse_alg("none"));
  EXPECT_FALSE(parse_alg("rs256"));
  EXPECT_FALSE(parse_alg("HS256 "));
}

TEST(Jws, HmacVerifiesAndRejectsAnyChange) {
  std::string error;
  auto key = make_key(Alg::HS256, "secret", false, error);
  ASSERT_TRUE(key) << error;
  // A vector computed independently with python's hmac module:
  // hmac.new(b"secret", b"eyJhbGciOiJIUzI1NiJ9.e30", hashlib.sha256)
  std::string input = "eyJhbGciOiJIUzI1NiJ9.e30";
  std::string sig;
  ASSERT_TRUE(crypto::base64url_decode("XmNK3GpH3Ys_7wsYBfq4C3M6goz71I7dTgUkuIa5lyQ", sig));
  EXPECT_TRUE(verify_signature(*key, input, sig));
  EXPECT_FALSE(verify_signature(*key, input + "x", sig));
  sig[0] ^= 1;
  EXPECT_FALSE(verify_signature(*key, input, sig));
}

TEST(Jws, PublicKeyAlgorithmsNeedAMatchingKey) {
  std::string error;
  EXPECT_FALSE(make_key(Alg::RS256, "not a pem", false, error));
  EXPECT_EQ(error, "not a PEM public key");
  EXPECT_FALSE(make_key(Alg::HS256, "", false, error));
  EXPECT_FALSE(make_key(Alg::HS256, "!!!", true, error));
}

TEST(Jws, DecodeRejectsMalformedCompactForms) {
  Token t;
  std::string error;
  EXPECT_TRUE(decode_token("eyJhbGciOiJIUzI1NiJ9.e30.", t, error)) << error;
  EXPECT_EQ(t.signing_input, "eyJhbGciOiJIUzI1NiJ9.e30");
  EXPECT_FALSE(decode_token("eyJhbGciOiJIUzI1NiJ9.e30", t, error));
  EXPECT_FALSE(decode_token("eyJhbGciOiJIUzI1NiJ9.e30..", t, error));
  EXPECT_FALSE(decode_token(".e30.", t, error));
  EXPECT_FALSE(decode_token("eyJhbGciOiJIUzI1NiJ9.e30=.", t, error));
}

// Every one-character change of a valid token (each position, several replacement
// characters, and every truncation) must fail decoding or verification: no alternative
// spelling of a token is accepted, and nothing crashes on the way.
TEST(Jws, NoMutationOfAValidTokenIsAccepted) {
  std::string error;
  auto key = make_key(Alg::HS256, "mutation-secret", false, error);
  ASSERT_TRUE(key) << error;
  std::string input = crypto::base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                      crypto::base64url_encode(R"({"iss":"k","sub":"user","exp":4102444800})");
  unsigned char mac[32];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), "mutation-secret", 15, reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
       &mac_len);
  std::string token = input + "." + crypto::base64url_encode(std::string(reinterpret_cast<char*>(mac), mac_len));
  auto accepted = [&](const std::string& t) {
    Token decoded;
    std::string why;
    return decode_token(t, decoded, why) && verify_signature(*key, decoded.signing_input, decoded.signature);
  };
  ASSERT_TRUE(accepted(token));
  int tried = 0;
  for (std::size_t i = 0; i < token.size(); ++i) {
    for (char c : {'A', '_', '-', '.', '=', '+', '/', ' ', '\0', '\xff', '9'}) {
      if (token[i] == c) continue;
      std::string mutated = token;
      mutated[i] = c;
      EXPECT_FALSE(accepted(mutated)) << "position " << i << " -> " << static_cast<int>(c);
      ++tried;
    }
    EXPECT_FALSE(accepted(token.substr(0, i))) << "truncated at " << i;
  }
  EXPECT_FALSE(accepted(token + "A"));
  EXPECT_FALSE(accepted(token + "="));
  EXPECT_GT(tried, 1000);
}

}  // namespace
}  // namespace portico::plugins::jwt
