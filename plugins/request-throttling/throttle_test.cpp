// Slots, the FIFO queue and its hand-over, across threads.
#include "plugins/request-throttling/throttle.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <thread>

namespace portico::plugins::throttle {
namespace {

TEST(Throttle, AdmitsUpToTheConcurrencyThenQueuesThenRefuses) {
  boost::asio::io_context io;
  Mailbox mailbox(io);
  mailbox.start();
  Throttle t;
  auto w1 = std::make_shared<Waiter>(io.get_executor(), mailbox);
  auto w2 = std::make_shared<Waiter>(io.get_executor(), mailbox);
  auto w3 = std::make_shared<Waiter>(io.get_executor(), mailbox);
  EXPECT_EQ(t.enter("k", 2, 2, w1), Throttle::Entry::admitted);
  EXPECT_EQ(t.enter("k", 2, 2, w1), Throttle::Entry::admitted);
  EXPECT_EQ(t.enter("k", 2, 2, w1), Throttle::Entry::queued);
  EXPECT_EQ(t.enter("k", 2, 2, w2), Throttle::Entry::queued);
  EXPECT_EQ(t.enter("k", 2, 2, w3), Throttle::Entry::refused);
  EXPECT_EQ(t.enter("other", 2, 2, w3), Throttle::Entry::admitted);  // keys are independent
  // A leaving request hands its slot to the first waiter (FIFO), in flight stays 2.
  bool woken = false;
  w1->timer.expires_after(std::chrono::seconds(10));
  w1->timer.async_wait([&](const boost::system::error_code& ec) { woken = ec == boost::asio::error::operation_aborted; });
  t.leave("k");
  EXPECT_TRUE(w1->granted);
  io.run_for(std::chrono::milliseconds(500));  // the hand-over wakes the waiter through its mailbox
  EXPECT_TRUE(woken);
  EXPECT_FALSE(w2->granted);
  EXPECT_EQ(t.in_flight("k"), 2);
  // The second waiter gives up: it leaves the queue; a granted one cannot give up.
  EXPECT_TRUE(t.abandon("k", w2));
  EXPECT_FALSE(t.abandon("k", w1));
  t.leave("k");
  t.leave("k");
  t.leave("other");
  EXPECT_EQ(t.keys(), 0u);  // nothing in flight, nobody waiting: no memory kept
}

TEST(Throttle, NeverMoreInFlightThanTheConcurrencyAcrossThreads) {
  Throttle t;
  std::atomic<int> inside{0}, most{0}, admitted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int n = 0; n < 5000; ++n) {
        if (t.enter("hot", 3, 0, nullptr) != Throttle::Entry::admitted) continue;
        int now = inside.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        admitted.fetch_add(1);
        inside.fetch_sub(1);
        t.leave("hot");
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(most.load(), 3);
  EXPECT_GT(admitted.load(), 0);
  EXPECT_EQ(t.keys(), 0u);
}

}  // namespace
}  // namespace portico::plugins::throttle
