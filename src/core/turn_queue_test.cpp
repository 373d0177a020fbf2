#include "core/turn_queue.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <string>

namespace portico {
namespace {

namespace asio = boost::asio;

// Takes a turn, notes its start, gives the loop `yields` chances to run others, notes its end.
asio::awaitable<void> worker(TurnQueue& queue, std::string name, int yields, std::string& log) {
  auto turn = co_await queue.take();
  log += "<" + name;
  for (int i = 0; i < yields; ++i) {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(1));
    co_await t.async_wait(asio::use_awaitable);
  }
  log += name + ">";
}

TEST(TurnQueue, OneHolderAtATimeInArrivalOrder) {
  asio::io_context io;
  TurnQueue queue;
  std::string log;
  for (const char* name : {"a", "b", "c"}) asio::co_spawn(io, worker(queue, name, 3, log), asio::detached);
  io.run();
  EXPECT_EQ(log, "<aa><bb><cc>");
  EXPECT_FALSE(queue.busy());
}

}  // namespace
}  // namespace portico
