// How the plugin reads the provider's token and introspection answers (RFC 6749 5.1/5.2, RFC 7662 2.2).
#include "plugins/openid-connect/token_client.hpp"

#include <gtest/gtest.h>

namespace oc = portico::plugins::openid_connect;

TEST(OidcTokenClient, ReadsTokenAnswersAndNamesTheProvidersError) {
  auto ok = oc::read_token_response(200, R"({"access_token":"at","id_token":"it","refresh_token":"rt","expires_in":300})");
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.access_token, "at");
  EXPECT_EQ(ok.expires_in, 300);
  auto refused = oc::read_token_response(400, R"({"error":"invalid_grant","error_description":"grant request is invalid"})");
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.error, "the token endpoint answered 400: invalid_grant (grant request is invalid)");
  EXPECT_EQ(oc::read_token_response(200, R"({"error":"bad_verification_code"})").error,
            "the token endpoint refused: bad_verification_code");  // GitHub's 200 with an error
  EXPECT_EQ(oc::read_token_response(200, "[]").error, "the token endpoint's answer is not a JSON object");
  EXPECT_EQ(oc::read_token_response(200, R"({"token_type":"bearer"})").error, "the token endpoint's answer has no access_token");
}

TEST(OidcTokenClient, IntrospectionAnswersMustBeActive) {
  auto active = oc::read_introspection_response(200, R"({"active":true,"sub":"alice","scope":"read","exp":2000000000})", true);
  EXPECT_TRUE(active.ok);
  EXPECT_EQ(active.claims.at("sub").as_string(), "alice");
  auto inactive = oc::read_introspection_response(200, R"({"active":false})", true);
  EXPECT_FALSE(inactive.ok);
  EXPECT_EQ(inactive.error, "the token is not active");
  // "active": "true" (a string) is not true.
  EXPECT_FALSE(oc::read_introspection_response(200, R"({"active":"true"})", true).ok);
  // introspection_check_active off: the answer passes as it is.
  EXPECT_TRUE(oc::read_introspection_response(200, R"({"active":false,"sub":"x"})", false).ok);
  EXPECT_EQ(oc::read_introspection_response(401, R"({"error":"invalid_client"})", true).error,
            "the introspection endpoint answered 401");
  EXPECT_EQ(oc::read_introspection_response(200, "not json", true).error,
            "the introspection endpoint's answer is not a JSON object");
}
