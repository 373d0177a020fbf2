#include "plugins/jwt/claims.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace portico::plugins::jwt {
namespace {

boost::json::object claims(const char* text) { return boost::json::parse(text).as_object(); }

std::string problem(const JwtConfig& c, const char* text, double now = 1000) {
  auto p = check_claims(c, claims(text), now);
  return p ? p->claim + ": " + p->problem : "";
}

TEST(JwtClaims, TimeClaimsWithLeeway) {
  JwtConfig c;
  c.claims_to_verify = {"exp", "nbf"};
  c.leeway = 5;
  EXPECT_EQ(problem(c, R"({"exp":1003,"nbf":1004})"), "");  // both within the leeway
  EXPECT_EQ(problem(c, R"({"exp":995,"nbf":0})"), "exp: token expired");
  EXPECT_EQ(problem(c, R"({"exp":2000,"nbf":1006})"), "nbf: token not valid yet");
  EXPECT_EQ(problem(c, R"({"exp":"2000","nbf":0})"), "exp: must be a number");
  EXPECT_EQ(problem(c, R"({"nbf":0})"), "exp: must be a number");
  c.maximum_expiration = 60;
  EXPECT_EQ(problem(c, R"({"exp":1061,"nbf":0})"), "exp: exceeds maximum allowed expiration");
}

TEST(JwtClaims, IssuerAudiencesAndRequiredClaims) {
  JwtConfig c;
  c.issuer = "https://idp";
  c.audiences = {"api", "web"};
  c.required_claims = {"sub"};
  EXPECT_EQ(problem(c, R"({"iss":"https://idp","aud":["x","web"],"sub":"u"})"), "");
  EXPECT_EQ(problem(c, R"({"iss":"https://idp","aud":"api","sub":"u"})"), "");
  EXPECT_EQ(problem(c, R"({"iss":"https://idp","aud":"api"})"), "sub: missing");
  EXPECT_EQ(problem(c, R"({"iss":"https://other","aud":"api","sub":"u"})"), "iss: does not match the expected issuer");
  EXPECT_EQ(problem(c, R"({"iss":"https://idp","aud":["x"],"sub":"u"})"), "aud: does not contain an accepted audience");
  EXPECT_EQ(problem(c, R"({"iss":"https://idp","aud":{"api":1},"sub":"u"})"), "aud: does not contain an accepted audience");
}

TEST(JwtClaims, ExpiryOfATokenWithoutExpIsFiveMinutesAway) {
  EXPECT_DOUBLE_EQ(expiry_of(claims(R"({"exp":1234})")), 1234);
  double later = expiry_of(claims("{}"));
  EXPECT_NEAR(later - now_seconds(), 300, 5);
}

}  // namespace
}  // namespace portico::plugins::jwt
