// A Redis connection on an Asio event loop: hiredis's asynchronous API (no hand-written RESP),
// its socket watched by the loop. One connection carries every caller's commands, pipelined:
// commands are written as they come and replies matched in order, so many requests of one
// worker share one connection without waiting for each other.
//
// Not thread-safe: a connection belongs to the thread running its io_context (a worker).
// connection_for() keeps one per worker thread and server. A lost connection is reconnected
// with backoff (100 ms doubling to 5 s) by the next command after the backoff; commands while
// it is down fail at once ("not connected"), so callers never wait for a dead server.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct redisAsyncContext;
struct redisReply;

namespace portico::net {

struct RedisSettings {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username, password;  // AUTH when password is set (with username when set)
  int database = 0;                // SELECT when not 0
  std::chrono::milliseconds timeout{2000};  // connect and each command
  std::string key() const;  // identifies the server and the session (user, database)
};

// A reply, converted from hiredis's: integers, strings, arrays (elements), nil, or an error.
struct RedisValue {
  enum class Type { nil, integer, string, array, status, error };
  Type type = Type::nil;
  long long integer = 0;
  std::string string;  // string, status, error text
  std::vector<RedisValue> elements;
};

// The outcome of one command: a reply, or why there is none (timeout, connection down).
struct RedisResult {
  bool ok = false;      // a reply came (which may itself be an error reply)
  RedisValue value;
  std::string failure;  // when !ok: "timeout after 2000 ms", "not connected: Connection refused"
};

class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
 public:
  RedisConnection(boost::asio::io_context& io, RedisSettings settings);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends one command (its arguments, binary-safe) and waits for its reply, at most the
  // settings' timeout. A reply that comes after the timeout is dropped.
  boost::asio::awaitable<RedisResult> command(std::vector<std::string> args);
  // Runs a Lua script by its SHA-1 (EVALSHA), sending its source (EVAL) when the server does
  // not know it yet (a new or restarted server). `args`: EVALSHA's after the hash (numkeys,
  // the keys, then the arguments).
  boost::asio::awaitable<RedisResult> eval(const std::string& source, const std::string& sha1, std::vector<std::string> args);

  bool connected() const { return context_ != nullptr && connected_; }

 private:
  struct Adapter;
  struct Pending;
  bool ensure_context(std::string& why);
  void on_connect(int status);
  void on_disconnect();
  void mark_down(std::string why);  // not connected; the next attempt after the backoff
  static void reply_callback(redisAsyncContext* ac, void* reply, void* privdata);

  boost::asio::io_context& io_;
  RedisSettings settings_;
  redisAsyncContext* context_ = nullptr;
  bool connected_ = false;
  std::string last_error_;
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::steady_clock::time_point connected_at_{};
  std::chrono::milliseconds backoff_{0};
};

// The calling worker thread's connection to the server `settings` name (created on first use,
// kept for the thread's life: a change of settings leaves the old one open, idle, until the
// worker ends).
std::shared_ptr<RedisConnection> connection_for(boost::asio::io_context& io, const RedisSettings& settings);
// The same for the io_context the calling coroutine runs on.
boost::asio::awaitable<std::shared_ptr<RedisConnection>> connection_here(const RedisSettings& settings);

}  // namespace portico::net
