// Coalescing: one filler per key, waiters woken through their mailbox when it finishes.
#include "plugins/proxy-cache/fills.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace portico::plugins::cache {
namespace {

TEST(Fills, OneFillerPerKeyAndItsWaitersWokenWhenItFinishes) {
  boost::asio::io_context io;
  Mailbox mailbox(io);
  mailbox.start();
  Fills fills;
  EXPECT_TRUE(fills.claim("k"));
  EXPECT_FALSE(fills.claim("k"));     // a second miss does not fetch again
  EXPECT_TRUE(fills.claim("other"));  // keys are independent
  auto w1 = std::make_shared<Waiter>(io.get_executor(), mailbox);
  auto w2 = std::make_shared<Waiter>(io.get_executor(), mailbox);
  ASSERT_TRUE(fills.wait("k", w1));
  ASSERT_TRUE(fills.wait("k", w2));
  fills.abandon("k", w2);  // timed out: not woken, not granted
  int woken = 0;
  w1->timer.expires_after(std::chrono::seconds(10));
  w1->timer.async_wait([&](const boost::system::error_code& ec) { woken += ec == boost::asio::error::operation_aborted; });
  fills.finish("k");
  EXPECT_TRUE(w1->granted);
  EXPECT_FALSE(w2->granted);
  io.run_for(std::chrono::milliseconds(300));
  EXPECT_EQ(woken, 1);
  EXPECT_FALSE(fills.wait("k", w2));  // no fill in progress: look again
  EXPECT_TRUE(fills.claim("k"));      // the next miss may fill
  fills.finish("k");
  fills.finish("other");
  EXPECT_EQ(fills.in_progress(), 0u);
}

}  // namespace
}  // namespace portico::plugins::cache
