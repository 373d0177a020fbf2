#include "core/deadline.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace portico {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(DeadlineQueue, ExpiresOnlyDueEntriesInOrder) {
  asio::io_context io;
  DeadlineQueue q;
  asio::ip::tcp::socket s1(io), s2(io), s3(io);
  Deadline a(q, &s1), b(q, &s2), c(q, &s3);
  a.arm(10ms);
  b.arm(10000ms);
  c.arm(10ms);
  EXPECT_EQ(q.armed(), 3u);
  auto next = q.expire(DeadlineQueue::Clock::now());
  EXPECT_FALSE(a.expired());
  EXPECT_LE(next, DeadlineQueue::Clock::now() + 10ms);
  q.expire(DeadlineQueue::Clock::now() + 20ms);
  EXPECT_TRUE(a.expired());
  EXPECT_FALSE(b.expired());
  EXPECT_TRUE(c.expired());
  EXPECT_EQ(q.armed(), 1u);
  b.disarm();
  EXPECT_EQ(q.armed(), 0u);
  EXPECT_EQ(q.expire(DeadlineQueue::Clock::now() + 1h), DeadlineQueue::Clock::time_point::max());
  EXPECT_FALSE(b.expired());
  a.arm(10ms);  // re-arming clears the expired flag
  EXPECT_FALSE(a.expired());
}

TEST(DeadlineQueue, DestroyedDeadlineUnlinks) {
  asio::io_context io;
  DeadlineQueue q;
  asio::ip::tcp::socket s(io);
  {
    Deadline d(q, &s);
    d.arm(5ms);
    EXPECT_EQ(q.armed(), 1u);
  }
  EXPECT_EQ(q.armed(), 0u);
  q.expire(DeadlineQueue::Clock::now() + 1h);  // must not touch the destroyed entry
}

TEST(DeadlineQueue, ArmByEndsAtTheGivenTimeWithinASixteenthOfTheLongest) {
  asio::io_context io;
  DeadlineQueue q;
  asio::ip::tcp::socket s1(io), s2(io), s3(io);
  Deadline soon(q, &s1), far(q, &s2), past(q, &s3);
  const auto now = DeadlineQueue::Clock::now();
  soon.arm_by(now + 5000ms, 16000ms);  // steps of 1 s: 5 s (6 s at most, the clock having moved)
  far.arm_by(now + 100000ms, 16000ms);  // no later than the longest
  past.arm_by(now - 1000ms, 16000ms);   // already over: one step
  q.expire(now + 950ms);
  EXPECT_FALSE(past.expired());
  q.expire(now + 2100ms);
  EXPECT_TRUE(past.expired());
  q.expire(now + 4990ms);
  EXPECT_FALSE(soon.expired());
  q.expire(now + 6100ms);
  EXPECT_TRUE(soon.expired());
  q.expire(now + 15900ms);
  EXPECT_FALSE(far.expired());
  q.expire(now + 16100ms);
  EXPECT_TRUE(far.expired());
}

// The driver cancels a pending read when its deadline passes.
TEST(DeadlineDriver, CancelsTheSocketOperation) {
  asio::io_context io;
  DeadlineQueue q;
  DeadlineDriver driver(io, q);
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket client(io), server(io);
  client.connect(acceptor.local_endpoint());
  acceptor.accept(server);
  Deadline deadline(q, &server);
  boost::system::error_code result;
  bool expired = false;
  auto start = std::chrono::steady_clock::now();
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    char buf[16];
    deadline.arm(50ms);
    auto [ec, n] = co_await server.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    (void)n;
    result = ec;
    expired = deadline.expired();
  }, asio::detached);
  io.run_for(2s);
  EXPECT_EQ(result, asio::error::operation_aborted);
  EXPECT_TRUE(expired);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

}  // namespace
}  // namespace portico
