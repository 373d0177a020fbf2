#include "net/real_ip.hpp"

#include <gtest/gtest.h>

namespace portico::net {
namespace {

std::vector<Cidr> trust(std::initializer_list<const char*> list) {
  std::vector<Cidr> out;
  for (const char* s : list) out.push_back(*Cidr::parse(s));
  return out;
}

TEST(RealIp, RightmostWithoutRecursion) {
  auto t = trust({"10.0.0.0/8"});
  EXPECT_EQ(forwarded_address("203.0.113.7, 10.0.0.2", t, false), "10.0.0.2");
  EXPECT_EQ(forwarded_address("203.0.113.7", t, false), "203.0.113.7");
}

TEST(RealIp, RecursionSkipsTrustedProxies) {
  auto t = trust({"10.0.0.0/8"});
  EXPECT_EQ(forwarded_address("1.1.1.1, 203.0.113.7, 10.0.0.2, 10.0.0.3", t, true), "203.0.113.7");
  // Kong's ip-restriction spec: everything trusted, the leftmost.
  EXPECT_EQ(forwarded_address("127.0.0.4, 127.0.0.3", trust({"0.0.0.0/0", "::/0"}), true), "127.0.0.4");
  EXPECT_EQ(forwarded_address("::4, ::3", trust({"0.0.0.0/0", "::/0"}), true), "::4");
}

TEST(RealIp, PortsAreDroppedAndGarbageKeepsThePeer) {
  EXPECT_EQ(forwarded_address("10.0.0.1:1234", {}, false), "10.0.0.1");
  EXPECT_EQ(forwarded_address("[2001:db8::1]:443", {}, false), "2001:db8::1");
  EXPECT_EQ(forwarded_address("::1", {}, false), "::1");
  EXPECT_EQ(forwarded_address("not-an-ip", {}, false), std::nullopt);
  // nginx: the walk stops at an entry that is no address; the last one read stands.
  EXPECT_EQ(forwarded_address("junk, 10.0.0.5", trust({"10.0.0.0/8"}), true), "10.0.0.5");
  EXPECT_EQ(forwarded_address("1.1.1.1 10.0.0.5", trust({"10.0.0.0/8"}), true), "1.1.1.1");
  EXPECT_EQ(forwarded_address("", {}, false), std::nullopt);
  EXPECT_EQ(forwarded_address("1.2.3.4\r\nX: y", {}, false), std::nullopt);
}

TEST(Cidr, RefusesMalformedPrefixes) {
  for (const char* bad : {"0.0.0.0/a", "0.0.0.0/-1", "0.0.0.0/33", "::/129", "::/-1", "1.2.3.4/08", "1.2.3.4/", "hello"}) {
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
  }
  for (const char* good : {"127.0.0.1/8", "::/0", "::/128", "10.0.0.1", "0.0.0.0/0"}) EXPECT_TRUE(Cidr::parse(good)) << good;
}

}  // namespace
}  // namespace portico::net
