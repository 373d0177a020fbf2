#include "plugins/openid-connect/id_token.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "crypto/aead.hpp"
#include "crypto/base64.hpp"
#include "plugins/jwt/jws.hpp"

namespace portico::plugins::openid_connect {
namespace {

namespace json = boost::json;
const std::string kSecret = "an HMAC key standing in for the provider's signing key";
constexpr double kNow = 1'800'000'000;

// A compact JWS signed with HS256 under kSecret (the claim checks do not depend on the
// algorithm; the key table pins HS256 for kid "k1").
std::string sign(const json::object& claims, std::string_view alg = "HS256", std::string_view kid = "k1") {
  json::object header{{"alg", alg}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = kid;
  std::string input = crypto::base64url_encode(json::serialize(header)) + "." + crypto::base64url_encode(json::serialize(claims));
  return input + "." + crypto::base64url_encode(crypto::hmac_sha256(kSecret, input));
}

json::object good_claims() {
  return {{"iss", "https://idp.example.com"}, {"sub", "alice"}, {"aud", "portico"},
          {"exp", kNow + 300},               {"iat", kNow - 5},  {"nonce", "n-0S6_WzA2Mj"}};
}

class IdTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    auto key = jwt::make_key(jwt::Alg::HS256, kSecret, false, error);
    ASSERT_TRUE(key) << error;
    keys_.emplace("k1", *key);
    expected_ = {"https://idp.example.com", "portico", "n-0S6_WzA2Mj", 0, kNow};
  }
  std::string check(const std::string& token) {
    std::string error;
    auto claims = verify_id_token(token, keys_, expected_, error);
    return claims ? "ok " + std::string((*claims)["sub"].as_string()) : error;
  }
  jwt::KeyMap keys_;
  IdTokenExpectations expected_;
};

TEST_F(IdTokenTest, AcceptsAValidToken) { EXPECT_EQ(check(sign(good_claims())), "ok alice"); }

TEST_F(IdTokenTest, RefusesAnotherAudienceOrAuthorizedParty) {
  json::object c = good_claims();
  c["aud"] = "someone-else";
  EXPECT_EQ(check(sign(c)), "ID token: issued for another audience");
  c["aud"] = json::array{"someone-else", "portico"};
  EXPECT_EQ(check(sign(c)), "ID token: several audiences and no authorized party");
  c["azp"] = "someone-else";
  EXPECT_EQ(check(sign(c)), "ID token: authorized party mismatch");
  c["azp"] = "portico";
  EXPECT_EQ(check(sign(c)), "ok alice");
}

TEST_F(IdTokenTest, RefusesNonceIssuerAndTimeProblems) {
  json::object c = good_claims();
  c["nonce"] = "replayed";
  EXPECT_EQ(check(sign(c)), "ID token: nonce mismatch");
  c = good_claims();
  c.erase("nonce");
  EXPECT_EQ(check(sign(c)), "ID token: nonce mismatch");
  c = good_claims();
  c["iss"] = "https://idp.example.com/";
  EXPECT_EQ(check(sign(c)), "ID token: issuer mismatch");
  c = good_claims();
  c["exp"] = kNow - 1;
  EXPECT_EQ(check(sign(c)), "ID token: expired");
  expected_.leeway = 5;
  EXPECT_EQ(check(sign(c)), "ok alice");
  c = good_claims();
  c["iat"] = kNow + 60;
  EXPECT_EQ(check(sign(c)), "ID token: issued in the future");
  c = good_claims();
  c.erase("exp");
  EXPECT_EQ(check(sign(c)), "ID token: no expiry");
}

TEST_F(IdTokenTest, RefusesAlgNoneUnknownKidsAndBadSignatures) {
  const json::object c = good_claims();
  std::string none = crypto::base64url_encode(R"({"alg":"none","kid":"k1"})") + "." +
                     crypto::base64url_encode(json::serialize(c)) + ".";
  EXPECT_EQ(check(none), "ID token: algorithm 'none' is not its key's");
  EXPECT_EQ(check(sign(c, "HS512")), "ID token: algorithm 'HS512' is not its key's");
  EXPECT_EQ(check(sign(c, "HS256", "k2")), "ID token: no provider key for its kid");
  std::string token = sign(c);
  token[token.size() - 3] = token[token.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(check(token), "ID token: invalid signature");
  EXPECT_EQ(check("not.a-token"), "ID token: invalid JWT");
}

TEST_F(IdTokenTest, AccessTokensNeedAnAllowedIssuerAndTimesButNoAudienceOrNonce) {
  json::object c = good_claims();
  c.erase("nonce");
  c["aud"] = "https://api.example.com";  // an API's token: the audience is the plugin's requirement
  c["crit"] = json::array{};              // a claim named crit is not the header's
  AccessTokenExpectations e{{"https://idp.example.com", "https://other.example.com"}, 0, kNow};
  auto check_access = [&](const std::string& token) {
    std::string error;
    auto claims = verify_signed_token(token, keys_, "access token", error);
    if (!claims) return error;
    const std::string problem = access_token_claims_problem(*claims, e);
    return problem.empty() ? std::string("ok") : problem;
  };
  EXPECT_EQ(check_access(sign(c)), "ok");
  c["iss"] = "https://other.example.com";
  EXPECT_EQ(check_access(sign(c)), "ok");
  c["iss"] = "https://evil.example.com";
  EXPECT_EQ(check_access(sign(c)), "issuer not allowed");
  c["iss"] = "https://idp.example.com";
  c["exp"] = kNow - 1;
  EXPECT_EQ(check_access(sign(c)), "expired");
  e.leeway = 5;
  EXPECT_EQ(check_access(sign(c)), "ok");
  c.erase("exp");
  EXPECT_EQ(check_access(sign(c)), "no expiry");
  c["exp"] = kNow + 60;
  c["nbf"] = kNow + 30;
  EXPECT_EQ(check_access(sign(c)), "not valid yet");
  c.erase("nbf");
  EXPECT_EQ(check_access(sign(c, "none")), "access token: algorithm 'none' is not its key's");
  EXPECT_EQ(check_access(sign(c, "HS256", "k9")), "access token: no provider key for its kid");
  EXPECT_TRUE(is_unknown_kid("access token: no provider key for its kid"));
  EXPECT_FALSE(is_unknown_kid("access token: invalid signature"));
}

}  // namespace
}  // namespace portico::plugins::openid_connect
