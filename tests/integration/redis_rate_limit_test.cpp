// The redis policy's Lua script against the local algorithms (limits.cpp), on a real
// redis-server (support/redis_server.hpp): for every algorithm, random sequences of requests at random times
// (the clock is the test's, passed to both) get the same decisions, remaining counts and
// waits from both. Also the client: EVALSHA's fallback, a refused connection, pipelining.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <random>
#include <thread>

#include "net/redis_client.hpp"
#include "plugins/rate-limiting/limits.hpp"
#include "plugins/rate-limiting/redis_script.hpp"
#include "support/redis_server.hpp"

namespace portico {
namespace {

namespace asio = boost::asio;
namespace rl = plugins::ratelimit;

// Drives the loop until `future` is ready (the connection's socket watch keeps the loop
// from running out of work, so run() would not return).
template <typename T>
T wait(asio::io_context& io, std::future<T>& future) {
  io.restart();
  while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) io.run_one_for(std::chrono::milliseconds(100));
  return future.get();
}

// Runs one command to completion on a private loop.
net::RedisResult run(asio::io_context& io, const std::shared_ptr<net::RedisConnection>& c, std::vector<std::string> args) {
  auto future = asio::co_spawn(io, c->command(std::move(args)), asio::use_future);
  return wait(io, future);
}

net::RedisSettings settings() {
  net::RedisSettings s;
  s.port = test::redis_port();
  s.timeout = std::chrono::milliseconds(2000);
  return s;
}

TEST(RedisRateLimit, TheScriptDecidesAsTheLocalAlgorithms) {
  asio::io_context io;
  auto connection = std::make_shared<net::RedisConnection>(io, settings());
  std::mt19937_64 random(20261201);
  const std::int64_t t0 = 1709251140000;  // 2024-02-29T23:59:00Z: months and a leap day on the way
  int compared = 0, refused = 0;
  for (rl::Algorithm algorithm : {rl::Algorithm::fixed_window, rl::Algorithm::sliding_window, rl::Algorithm::sliding_log,
                                  rl::Algorithm::token_bucket}) {
    for (int sequence = 0; sequence < 4; ++sequence) {
      std::vector<rl::WindowLimit> limits{{rl::Period::second, 3 + sequence, 5},
                                          {rl::Period::minute, 20 + 5 * sequence, 20 + 5 * sequence}};
      rl::KeyState local(limits.size());
      std::string prefix = "test:{" + std::to_string(static_cast<int>(algorithm)) + "-" + std::to_string(sequence) + "}:";
      std::int64_t now = t0;
      for (int i = 0; i < 150; ++i) {
        now += std::uniform_int_distribution<int>(0, 400)(random);
        rl::Decision expected, got;
        local.take(algorithm, limits, now, expected);
        auto args = rl::decision_args(algorithm, limits, prefix, now);
        args.insert(args.begin(), {"EVAL", rl::decision_script()});
        auto result = run(io, connection, args);
        ASSERT_TRUE(result.ok) << result.failure;
        std::string why;
        ASSERT_TRUE(rl::read_decision(result.value, limits, got, why)) << why;
        SCOPED_TRACE("algorithm " + std::to_string(static_cast<int>(algorithm)) + " request " + std::to_string(i));
        ASSERT_EQ(got.allowed, expected.allowed);
        ASSERT_EQ(got.retry_after_s, expected.retry_after_s);
        for (std::size_t w = 0; w < limits.size(); ++w) {
          ASSERT_EQ(got.windows[w].remaining, expected.windows[w].remaining) << "window " << w;
          ASSERT_EQ(got.windows[w].reset_s, expected.windows[w].reset_s) << "window " << w;
        }
        ++compared;
        refused += got.allowed ? 0 : 1;
      }
    }
  }
  EXPECT_EQ(compared, 4 * 4 * 150);
  EXPECT_GT(refused, compared / 10);  // the sequences reach the limits, not only the easy part
  EXPECT_LT(refused, compared * 9 / 10);
}

TEST(RedisRateLimit, EvalshaFallsBackAfterAFlush) {
  asio::io_context io;
  auto connection = std::make_shared<net::RedisConnection>(io, settings());
  ASSERT_TRUE(run(io, connection, {"SCRIPT", "FLUSH"}).ok);
  std::vector<rl::WindowLimit> limits{{rl::Period::minute, 10, 10}};
  auto args = rl::decision_args(rl::Algorithm::fixed_window, limits, "evalsha:{k}:", 1709251140000);
  args.insert(args.begin(), {"EVALSHA", rl::decision_script_sha1()});
  auto first = run(io, connection, args);
  ASSERT_TRUE(first.ok);
  EXPECT_EQ(first.value.type, net::RedisValue::Type::error);
  EXPECT_EQ(first.value.string.rfind("NOSCRIPT", 0), 0u) << first.value.string;
  auto with_source = args;
  with_source[0] = "EVAL";
  with_source[1] = rl::decision_script();
  ASSERT_TRUE(run(io, connection, with_source).ok);
  auto again = run(io, connection, args);  // cached by EVAL
  ASSERT_TRUE(again.ok);
  rl::Decision d;
  std::string why;
  ASSERT_TRUE(rl::read_decision(again.value, limits, d, why)) << why;
  EXPECT_EQ(d.windows[0].remaining, 8);
}

TEST(RedisRateLimit, ManyCommandsShareOneConnectionInOrder) {
  asio::io_context io;
  auto connection = std::make_shared<net::RedisConnection>(io, settings());
  ASSERT_TRUE(run(io, connection, {"DEL", "pipelined"}).ok);
  std::vector<std::future<net::RedisResult>> futures;
  for (int i = 0; i < 200; ++i) {
    futures.push_back(asio::co_spawn(io, connection->command({"INCR", "pipelined"}), asio::use_future));
  }
  for (int i = 0; i < 200; ++i) {
    auto r = wait(io, futures[i]);
    ASSERT_TRUE(r.ok) << r.failure;
    EXPECT_EQ(r.value.integer, i + 1);
  }
}

TEST(RedisRateLimit, ARefusedConnectionFailsAtOnceAndIsRetriedAfterTheBackoff) {
  asio::io_context io;
  net::RedisSettings nowhere = settings();
  nowhere.port = test::closed_port();  // nothing listens
  auto connection = std::make_shared<net::RedisConnection>(io, nowhere);
  auto started = std::chrono::steady_clock::now();
  auto first = run(io, connection, {"PING"});
  EXPECT_FALSE(first.ok);
  auto second = run(io, connection, {"PING"});  // within the backoff: no new attempt
  EXPECT_FALSE(second.ok);
  EXPECT_NE(second.failure.find("not connected"), std::string::npos) << second.failure;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
}

}  // namespace
}  // namespace portico
