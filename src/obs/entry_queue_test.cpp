#include "obs/entry_queue.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace portico::obs {
namespace {

TEST(EntryQueue, KeepsEachProducersOrderAndTakesInBatches) {
  EntryQueue queue(100);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(queue.push("e" + std::to_string(i)));
  EXPECT_EQ(queue.size(), 10u);
  auto first = queue.take(4);
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(first[0], "e0");
  EXPECT_EQ(first[3], "e3");
  auto rest = queue.take(100);
  ASSERT_EQ(rest.size(), 6u);
  EXPECT_EQ(rest[0], "e4");
  EXPECT_EQ(queue.size(), 0u);
  EXPECT_TRUE(queue.take(10).empty());
}

TEST(EntryQueue, AFullQueueDropsAndCounts) {
  EntryQueue queue(3);
  EXPECT_TRUE(queue.push("a"));
  EXPECT_TRUE(queue.push("b"));
  EXPECT_TRUE(queue.push("c"));
  EXPECT_FALSE(queue.push("d"));
  EXPECT_EQ(queue.dropped(), 1u);
  EXPECT_EQ(queue.take(1).size(), 1u);
  EXPECT_TRUE(queue.push("e"));  // room again once the consumer took one
  EXPECT_EQ(queue.size(), 3u);
}

TEST(EntryQueue, ConcurrentProducersNeverExceedTheBoundNorLoseAnAcceptedEntry) {
  EntryQueue queue(5000);
  constexpr int kThreads = 4, kPerThread = 3000;
  std::vector<std::thread> producers;
  std::atomic<int> accepted{0};
  std::set<std::string> taken;
  std::atomic<bool> done{false};
  std::thread consumer([&] {
    while (!done.load() || queue.size() > 0) {
      for (auto& e : queue.take(256)) EXPECT_TRUE(taken.insert(std::move(e)).second);
      EXPECT_LE(queue.size(), 5000u);
    }
  });
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (queue.push(std::to_string(t) + ":" + std::to_string(i))) accepted.fetch_add(1);
      }
    });
  }
  for (auto& p : producers) p.join();
  done = true;
  consumer.join();
  EXPECT_EQ(static_cast<int>(taken.size()), accepted.load());
  EXPECT_EQ(accepted.load() + static_cast<int>(queue.dropped()), kThreads * kPerThread);
}

}  // namespace
}  // namespace portico::obs
