#include "plugins/openid-connect/session.hpp"

#include <gtest/gtest.h>

#include "crypto/sealed_box.hpp"
#include "plugins/openid-connect/cookies.hpp"

namespace portico::plugins::openid_connect {
namespace {

TEST(OidcSession, RoundTripsThroughTheSealedCookie) {
  crypto::SealedBox box({"a session secret of thirty-two characters or more"}, "session");
  Session s;
  s.subject = "alice";
  s.claims = {{"email", "alice@example.test"}, {"groups", boost::json::array{"admins"}}};
  s.access_token = "at-1";
  s.access_expires = 1'800'000'300;
  s.refresh_token = "rt-1";
  s.id_token = "eyJ.x.y";
  s.created = s.renewed = s.seen = 1'800'000'000;
  auto opened = box.open(box.seal(encode(s)));
  ASSERT_TRUE(opened);
  auto back = decode_session(*opened);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->subject, "alice");
  EXPECT_EQ(back->claims.at("email").as_string(), "alice@example.test");
  EXPECT_EQ(back->refresh_token, "rt-1");
  EXPECT_EQ(back->access_expires, 1'800'000'300);
  EXPECT_FALSE(decode_session(R"({"sub":""})"));
  EXPECT_FALSE(decode_session("not json"));
}

TEST(OidcSession, EndsAtEachTimeout) {
  Session s;
  s.subject = "alice";
  s.created = 1000;
  s.renewed = 5000;
  s.seen = 8000;
  SessionTimeouts t{3600, 86400, 900};
  EXPECT_EQ(session_expiry_problem(s, t, 8100), "");
  EXPECT_EQ(session_expiry_problem(s, t, 8900), "the session reached its rolling timeout");
  s.renewed = 8000;
  EXPECT_EQ(session_expiry_problem(s, t, 8900), "the session was idle too long");
  EXPECT_EQ(session_expiry_problem(s, t, 87400), "the session reached its absolute timeout");
  EXPECT_EQ(session_expiry_problem(s, {0, 0, 0}, 1e12), "");  // 0: no timeout
}

TEST(OidcSession, PreLoginNeedsItsState) {
  PreLogin p{"st", "nn", "vv", "/orders?page=2", 1000};
  auto back = decode_pre_login(encode(p));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->code_verifier, "vv");
  EXPECT_EQ(back->return_to, "/orders?page=2");
  EXPECT_FALSE(decode_pre_login(R"({"nonce":"nn","created":1000})"));
}

// Found by tests/fuzz/login_cookie_fuzz (corpus/login_cookie/regression-infinite-time,
// regression-infinite-claim): a number beyond a double's range makes no session.
TEST(OidcSession, NumbersBeyondADoublesRangeAreRefused) {
  EXPECT_FALSE(decode_session(R"({"sub":"alice","created":17e67220000})"));
  EXPECT_FALSE(decode_pre_login(R"({"state":"st","created":1e400})"));
  // (anywhere: Boost.JSON would write infinity back as `Infinity`, which no JSON parser reads;
  // corpus/login_cookie/regression-infinite-claim)
  EXPECT_FALSE(decode_session(R"({"sub":"alice","created":1000,"at_exp":1e999})"));
  EXPECT_FALSE(decode_session(R"({"sub":"alice","created":1000,"claims":{"n":[17601e4000]}})"));
  auto s = decode_session(R"({"sub":"alice","created":1000,"claims":{"n":[1.5e300]}})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->claims.at("n").as_array()[0].as_double(), 1.5e300);
}

TEST(OidcSession, OnlySameSitePathsAreReturnedTo) {
  EXPECT_TRUE(is_same_site_path("/"));
  EXPECT_TRUE(is_same_site_path("/orders?page=2#top"));
  EXPECT_FALSE(is_same_site_path("//evil.example.com/"));
  EXPECT_FALSE(is_same_site_path("/\\evil.example.com"));
  EXPECT_FALSE(is_same_site_path("https://evil.example.com/"));
  EXPECT_FALSE(is_same_site_path("/a\r\nSet-Cookie: x=1"));
  EXPECT_FALSE(is_same_site_path("/a\\b"));
  EXPECT_FALSE(is_same_site_path(""));
}

TEST(OidcCookies, SplitsLongValuesAndReadsThemBack) {
  CookieAttributes a;
  a.secure = true;
  const std::string value(9000, 'v');
  const std::string lines = set_cookie_lines("session", value, a);
  EXPECT_NE(lines.find("Set-Cookie: session="), std::string::npos);
  EXPECT_NE(lines.find("Set-Cookie: session2="), std::string::npos);
  EXPECT_NE(lines.find("Set-Cookie: session3="), std::string::npos);
  EXPECT_NE(lines.find("; Path=/; SameSite=Lax; Secure; HttpOnly\r\n"), std::string::npos);
  const std::string header = "other=1; session=" + value.substr(0, 4000) + "; session2=" + value.substr(4000, 4000) +
                             "; session3=" + value.substr(8000);
  int chunks = 0;
  std::string joined;
  EXPECT_EQ(read_cookie(header, "session", chunks, joined).value_or(""), value);
  EXPECT_EQ(chunks, 3);
  EXPECT_FALSE(read_cookie("other=1", "session", chunks, joined));
  // A shorter value expires the chunks the previous one used.
  const std::string shorter = set_cookie_lines("session", "short", a, 3);
  EXPECT_NE(shorter.find("Set-Cookie: session2=; Max-Age=0"), std::string::npos);
  EXPECT_NE(shorter.find("Set-Cookie: session3=; Max-Age=0"), std::string::npos);
  EXPECT_EQ(set_cookie_lines("session", std::string(40000, 'v'), a), "");  // over nine cookies
}

}  // namespace
}  // namespace portico::plugins::openid_connect
