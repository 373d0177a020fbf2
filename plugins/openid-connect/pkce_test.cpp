#include "plugins/openid-connect/pkce.hpp"

#include <gtest/gtest.h>

namespace portico::plugins::openid_connect {
namespace {

TEST(Pkce, MatchesRfc7636AppendixB) {
  EXPECT_EQ(s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(Pkce, VerifiersAreLongEnoughUnreservedAndFresh) {
  Pkce a = make_pkce(), b = make_pkce();
  EXPECT_EQ(a.verifier.size(), 43u);  // RFC 7636 4.1: 43 to 128 characters
  EXPECT_EQ(a.verifier.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"),
            std::string::npos);
  EXPECT_EQ(a.challenge, s256_challenge(a.verifier));
  EXPECT_NE(a.verifier, b.verifier);
}

}  // namespace
}  // namespace portico::plugins::openid_connect
