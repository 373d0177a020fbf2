// The certificate lookup order (Kong's): exact, "*.rest", "prefix.*", "*", then none.
#include "net/sni_table.hpp"

#include <gtest/gtest.h>

namespace portico::net {
namespace {

std::shared_ptr<const TlsServerContext> context() {
  std::string error;
  auto made = TlsServerContext::create(self_signed_certificate(), error);
  EXPECT_TRUE(made) << error;
  return made;
}

TEST(SniTable, KongsLookupOrder) {
  auto exact = context(), left = context(), right = context(), fallback = context();
  SniTable table;
  table.add("API.example.com", exact);
  table.add("*.example.com", left);
  table.add("shop.example.*", right);
  EXPECT_EQ(table.find("api.example.com"), exact.get());
  EXPECT_EQ(table.find("Api.Example.Com"), exact.get());
  EXPECT_EQ(table.find("www.example.com"), left.get());
  EXPECT_EQ(table.find("shop.example.com"), left.get());  // leading before trailing
  EXPECT_EQ(table.find("shop.example.org"), right.get());
  EXPECT_EQ(table.find("a.b.example.com"), nullptr);      // one label only
  EXPECT_EQ(table.find("example.com"), nullptr);          // "*.com" is never derived (three labels needed)
  EXPECT_EQ(table.find(""), nullptr);                     // no SNI, no default: the listener's own
  table.add("*", fallback);
  EXPECT_EQ(table.find("unknown.test"), fallback.get());
  EXPECT_EQ(table.find(""), fallback.get());
}

TEST(SniTable, KeptContextsNeedTheSameFingerprint) {
  auto made = context();
  SniTable table;
  table.keep("id-1", "fp-1", made);
  EXPECT_EQ(table.kept("id-1", "fp-1"), made);
  EXPECT_EQ(table.kept("id-1", "fp-2"), nullptr);
  EXPECT_EQ(table.kept("id-2", "fp-1"), nullptr);
}

TEST(TlsChecks, KongsCertificateMessages) {
  auto a = self_signed_certificate(), b = self_signed_certificate();
  EXPECT_EQ(certificate_problem(a.cert_pem), "");
  EXPECT_EQ(key_problem(a.key_pem), "");
  EXPECT_EQ(certificate_problem("garbage").rfind("invalid certificate: ", 0), 0u);
  EXPECT_EQ(key_problem("garbage").rfind("invalid key: ", 0), 0u);
  EXPECT_TRUE(certificate_matches_key(a.cert_pem, a.key_pem));
  EXPECT_FALSE(certificate_matches_key(a.cert_pem, b.key_pem));
  EXPECT_TRUE(same_key_type(a.cert_pem, b.cert_pem));
}

}  // namespace
}  // namespace portico::net
