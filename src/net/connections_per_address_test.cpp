#include "net/connections_per_address.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace portico::net {
namespace {

TEST(ConnectionsPerAddress, RefusesTheConnectionOverTheLimitOfItsAddressOnly) {
  ConnectionsPerAddress table(2);
  EXPECT_TRUE(table.take("10.0.0.1"));
  EXPECT_TRUE(table.take("10.0.0.1"));
  EXPECT_FALSE(table.take("10.0.0.1"));
  EXPECT_EQ(table.open("10.0.0.1"), 2u);  // the refused one is not counted
  EXPECT_TRUE(table.take("10.0.0.2"));
  EXPECT_TRUE(table.take("::1"));
  EXPECT_EQ(table.addresses(), 3u);
}

TEST(ConnectionsPerAddress, AClosedConnectionMakesRoomAndTheLastOneForgetsTheAddress) {
  ConnectionsPerAddress table(1);
  ASSERT_TRUE(table.take("192.0.2.7"));
  EXPECT_FALSE(table.take("192.0.2.7"));
  table.give_back("192.0.2.7");
  EXPECT_EQ(table.addresses(), 0u);
  EXPECT_TRUE(table.take("192.0.2.7"));
  table.give_back("198.51.100.1");  // never counted: nothing happens
  EXPECT_EQ(table.open("192.0.2.7"), 1u);
}

TEST(ConnectionsPerAddress, WorkersTakingAndGivingBackAtOnceKeepExactCounts) {
  ConnectionsPerAddress table(1000000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&table] {
      for (int i = 0; i < 20000; ++i) {
        std::string address = "10.0.0." + std::to_string(i % 7);
        ASSERT_TRUE(table.take(address));
        if (i % 2 == 0) table.give_back(address);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::uint32_t total = 0;
  for (int i = 0; i < 7; ++i) total += table.open("10.0.0." + std::to_string(i));
  EXPECT_EQ(total, 4u * 10000u);
}

}  // namespace
}  // namespace portico::net
