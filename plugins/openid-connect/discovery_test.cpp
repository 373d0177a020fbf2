#include "plugins/openid-connect/discovery.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace portico::plugins::openid_connect {
namespace {

namespace json = boost::json;

json::value document(std::string_view issuer = "https://idp.example.com") {
  json::object d;
  d["issuer"] = issuer;
  d["authorization_endpoint"] = "https://idp.example.com/auth";
  d["token_endpoint"] = "https://idp.example.com/token";
  d["jwks_uri"] = "https://idp.example.com/jwks";
  d["userinfo_endpoint"] = "https://idp.example.com/me";
  d["end_session_endpoint"] = "https://idp.example.com/session/end";
  d["code_challenge_methods_supported"] = json::array{"S256"};
  return d;
}

TEST(Discovery, BuildsTheDocumentUrlFromTheIssuerOrTakesItAsWritten) {
  EXPECT_EQ(discovery_url("https://idp.example.com"), "https://idp.example.com/.well-known/openid-configuration");
  EXPECT_EQ(discovery_url("https://idp.example.com/realms/a/"),
            "https://idp.example.com/realms/a/.well-known/openid-configuration");
  EXPECT_EQ(discovery_url("https://idp.example.com/.well-known/openid-configuration"),
            "https://idp.example.com/.well-known/openid-configuration");
  EXPECT_EQ(issuer_identifier("https://idp.example.com/.well-known/openid-configuration"), "https://idp.example.com");
  EXPECT_EQ(issuer_identifier("https://idp.example.com/realms/a/"), "https://idp.example.com/realms/a");
}

TEST(Discovery, ReadsTheEndpoints) {
  std::string error;
  auto m = parse_discovery(document(), "https://idp.example.com", error);
  ASSERT_TRUE(m) << error;
  EXPECT_EQ(m->token_endpoint, "https://idp.example.com/token");
  EXPECT_EQ(m->end_session_endpoint, "https://idp.example.com/session/end");
  EXPECT_TRUE(m->introspection_endpoint.empty());
  EXPECT_TRUE(m->supports_s256());
}

TEST(Discovery, RefusesAnotherIssuerMissingEndpointsAndNonUrls) {
  std::string error;
  EXPECT_FALSE(parse_discovery(document("https://evil.example.com"), "https://idp.example.com", error));
  EXPECT_NE(error.find("is not the configured issuer"), std::string::npos) << error;
  json::value d = document();
  d.as_object().erase("token_endpoint");
  EXPECT_FALSE(parse_discovery(d, "https://idp.example.com", error));
  EXPECT_EQ(error, "discovery document: 'token_endpoint' is missing");
  d = document();
  d.as_object()["jwks_uri"] = "file:///etc/passwd";
  EXPECT_FALSE(parse_discovery(d, "https://idp.example.com", error));
  EXPECT_NE(error.find("'jwks_uri' is not an http(s) URL"), std::string::npos) << error;
  d = document();
  d.as_object()["userinfo_endpoint"] = 7;
  EXPECT_FALSE(parse_discovery(d, "https://idp.example.com", error));
  EXPECT_EQ(error, "discovery document: 'userinfo_endpoint' is not a string");
  EXPECT_FALSE(parse_discovery(json::parse("[1]"), "https://idp.example.com", error));
}

TEST(Discovery, ChecksUrls) {
  EXPECT_TRUE(is_http_url("http://127.0.0.1:9000/auth"));
  EXPECT_TRUE(is_http_url("https://idp.example.com"));
  EXPECT_FALSE(is_http_url("https://"));
  // A URL goes into Location headers as it is: no space or control byte anywhere.
  EXPECT_FALSE(is_http_url("https://idp.example.com/auth\r\nSet-Cookie: x=1"));
  EXPECT_FALSE(is_http_url("https://idp.example.com/a b"));
  EXPECT_FALSE(is_http_url("https://user@idp.example.com/"));
  EXPECT_FALSE(is_http_url("javascript:alert(1)"));
  EXPECT_FALSE(is_http_url("//idp.example.com/auth"));
}

}  // namespace
}  // namespace portico::plugins::openid_connect
