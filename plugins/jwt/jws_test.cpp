#include "plugins/jwt/jws.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace portico::plugins::jwt
