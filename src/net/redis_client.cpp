#include "net/redis_client.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/execution/context.hpp>
#include <unordered_map>

namespace portico::net {

namespace asio = boost::asio;

std::string RedisSettings::key() const {
  return host + ":" + std::to_string(port) + "/" + std::to_string(database) + "/" + username + "/" +
         std::to_string(std::hash<std::string>{}(password)) + "/" + std::to_string(timeout.count());
}

// hiredis's event hooks on an Asio descriptor. hiredis owns the socket (it closes it); the
// descriptor only watches it. hiredis may free the context (and with it this adapter, through
// cleanup) from inside a read or write handler, so handlers hold a weak flag, not the adapter.
struct RedisConnection::Adapter {
  Adapter(asio::io_context& io, redisAsyncContext* ac) : descriptor(io, ac->c.fd), context(ac) {}
  ~Adapter() {
    boost::system::error_code ec;
    descriptor.cancel(ec);
    descriptor.release();
  }

  template <bool Read>
  void arm() {
    bool& wanted = Read ? reading : writing;
    bool& armed = Read ? read_armed : write_armed;
    if (!wanted || armed) return;
    armed = true;
    auto kind = Read ? asio::posix::stream_descriptor::wait_read : asio::posix::stream_descriptor::wait_write;
    descriptor.async_wait(kind, [this, alive = std::weak_ptr<bool>(alive)](const boost::system::error_code& ec) {
      if (alive.expired()) return;
      (Read ? read_armed : write_armed) = false;
      if (ec || !(Read ? reading : writing)) return;
      if (Read) redisAsyncHandleRead(context);
      else redisAsyncHandleWrite(context);
      if (alive.expired()) return;  // the context (and this adapter) went away
      arm<Read>();
    });
  }

  static Adapter& of(void* p) { return *static_cast<Adapter*>(p); }
  static void add_read(void* p) { of(p).reading = true, of(p).arm<true>(); }
  static void del_read(void* p) { of(p).reading = false; }
  static void add_write(void* p) { of(p).writing = true, of(p).arm<false>(); }
  static void del_write(void* p) { of(p).writing = false; }
  static void cleanup(void* p) { delete static_cast<Adapter*>(p); }

  asio::posix::stream_descriptor descriptor;
  redisAsyncContext* context;
  bool reading = false, writing = false, read_armed = false, write_armed = false;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

// One command waiting for its reply: the reply callback fills it and cancels the timer the
// command's coroutine waits on (its deadline).
struct RedisConnection::Pending {
  explicit Pending(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  RedisResult result;
  bool done = false;
};

namespace {

RedisValue convert(const redisReply* r) {
  RedisValue v;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      v.type = RedisValue::Type::integer;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      v.type = r->type == REDIS_REPLY_STRING   ? RedisValue::Type::string
               : r->type == REDIS_REPLY_STATUS ? RedisValue::Type::status
                                               : RedisValue::Type::error;
      v.string.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::Type::array;
      for (std::size_t i = 0; i < r->elements; ++i) v.elements.push_back(convert(r->element[i]));
      break;
    default: v.type = RedisValue::Type::nil;
  }
  return v;
}

RedisConnection* owner(const redisAsyncContext* ac) { return static_cast<RedisConnection*>(ac->data); }

}  // namespace

RedisConnection::RedisConnection(asio::io_context& io, RedisSettings settings) : io_(io), settings_(std::move(settings)) {}

RedisConnection::~RedisConnection() {
  if (context_ != nullptr) {
    redisAsyncContext* ac = context_;
    context_ = nullptr;
    ac->data = nullptr;  // the callbacks below must not reach this object
    redisAsyncFree(ac);
  }
}

void RedisConnection::reply_callback(redisAsyncContext* ac, void* reply, void* privdata) {
  std::unique_ptr<std::shared_ptr<Pending>> holder(static_cast<std::shared_ptr<Pending>*>(privdata));
  Pending& p = **holder;
  if (p.done) return;  // timed out already
  p.done = true;
  if (reply == nullptr) {
    // The connection failed or was closed (hiredis reports it to the connection first).
    const RedisConnection* self = ac != nullptr ? owner(ac) : nullptr;
    p.result.failure = self != nullptr && !self->connected_ && !self->last_error_.empty()
                           ? "not connected: " + self->last_error_
                           : "connection lost";
  } else {
    p.result.ok = true;
    p.result.value = convert(static_cast<redisReply*>(reply));
  }
  p.timer.cancel();
}

bool RedisConnection::ensure_context(std::string& why) {
  if (context_ != nullptr) return true;
  if (std::chrono::steady_clock::now() < retry_at_) {
    why = "not connected: " + last_error_;
    return false;
  }
  redisAsyncContext* ac = redisAsyncConnect(settings_.host.c_str(), settings_.port);
  if (ac == nullptr || ac->err != 0) {
    mark_down(ac != nullptr ? ac->errstr : "out of memory");
    if (ac != nullptr) redisAsyncFree(ac);
    why = "not connected: " + last_error_;
    return false;
  }
  ac->data = this;
  Adapter* adapter = nullptr;
  try {
    adapter = new Adapter(io_, ac);
  } catch (const std::exception& e) {  // the loop could not watch the socket
    mark_down(e.what());
    redisAsyncFree(ac);
    why = "not connected: " + last_error_;
    return false;
  }
  ac->ev.data = adapter;
  ac->ev.addRead = Adapter::add_read;
  ac->ev.delRead = Adapter::del_read;
  ac->ev.addWrite = Adapter::add_write;
  ac->ev.delWrite = Adapter::del_write;
  ac->ev.cleanup = Adapter::cleanup;
  redisAsyncSetConnectCallback(ac, [](const redisAsyncContext* c, int status) {
    if (RedisConnection* self = owner(c)) self->on_connect(status);
  });
  redisAsyncSetDisconnectCallback(ac, [](const redisAsyncContext* c, int) {
    if (RedisConnection* self = owner(c)) self->on_disconnect();
  });
  context_ = ac;
  connected_ = false;
  // The session's setup goes first on the connection; its replies are not awaited (a wrong
  // password makes the commands after it fail with NOAUTH, which the callers see).
  auto setup = [&](std::vector<std::string> args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) argv.push_back(a.data()), lens.push_back(a.size());
    redisAsyncCommandArgv(ac, nullptr, nullptr, static_cast<int>(argv.size()), argv.data(), lens.data());
  };
  if (!settings_.password.empty()) {
    if (settings_.username.empty()) setup({"AUTH", settings_.password});
    else setup({"AUTH", settings_.username, settings_.password});
  }
  if (settings_.database != 0) setup({"SELECT", std::to_string(settings_.database)});
  return true;
}

void RedisConnection::on_connect(int status) {
  if (status == REDIS_OK) {
    connected_ = true;
    connected_at_ = std::chrono::steady_clock::now();
    backoff_ = std::chrono::milliseconds(0);
    return;
  }
  on_disconnect();  // hiredis frees the context after this callback
}

void RedisConnection::on_disconnect() {
  // (hiredis sets the error on the inner context first; the outer copy may still be clear.)
  std::string why = context_ != nullptr && context_->c.err != 0 ? context_->c.errstr : "connection closed";
  context_ = nullptr;  // hiredis frees it
  if (connected_ && std::chrono::steady_clock::now() - connected_at_ > std::chrono::seconds(1)) {
    // A connection that served a while and was closed (the server's idle timeout, a
    // restart): the next command reconnects at once.
    connected_ = false;
    last_error_ = why;
    backoff_ = std::chrono::milliseconds(0);
    retry_at_ = {};
    return;
  }
  mark_down(why);
}

void RedisConnection::mark_down(std::string why) {
  last_error_ = std::move(why);
  connected_ = false;
  backoff_ = std::min<std::chrono::milliseconds>(backoff_.count() == 0 ? std::chrono::milliseconds(100) : backoff_ * 2,
                                                 std::chrono::seconds(5));
  retry_at_ = std::chrono::steady_clock::now() + backoff_;
}

asio::awaitable<RedisResult> RedisConnection::command(std::vector<std::string> args) {
  auto self = shared_from_this();  // alive until the reply or the deadline
  RedisResult result;
  if (!ensure_context(result.failure)) co_return result;
  auto pending = std::make_shared<Pending>(io_);
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) argv.push_back(a.data()), lens.push_back(a.size());
  auto* holder = new std::shared_ptr<Pending>(pending);
  int sent = redisAsyncCommandArgv(context_, reply_callback, holder, static_cast<int>(argv.size()), argv.data(), lens.data());
  if (sent != REDIS_OK) {
    delete holder;
    result.failure = "could not send the command";
    co_return result;
  }
  if (!pending->done) {
    pending->timer.expires_after(settings_.timeout);
    auto [ec] = co_await pending->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
  }
  if (!pending->done) {
    // No reply in time: the server is stuck or the network is. Drop the connection (its
    // other commands fail now rather than each waiting out its deadline); the next command
    // after the backoff reconnects.
    pending->done = true;
    result.failure = "timeout after " + std::to_string(settings_.timeout.count()) + " ms";
    if (context_ != nullptr) {
      redisAsyncContext* ac = context_;
      ac->data = nullptr;  // its callbacks must not reach this object: the state is set here
      context_ = nullptr;
      redisAsyncFree(ac);  // fails the other pending commands at once
      mark_down(result.failure);
    }
    co_return result;
  }
  co_return std::move(pending->result);
}

asio::awaitable<RedisResult> RedisConnection::eval(const std::string& source, const std::string& sha1,
                                                   std::vector<std::string> args) {
  args.insert(args.begin(), {"EVALSHA", sha1});
  RedisResult result = co_await command(args);
  bool unknown_script =
      result.ok && result.value.type == RedisValue::Type::error && result.value.string.rfind("NOSCRIPT", 0) == 0;
  if (unknown_script) {  // EVAL sends the script, and the server keeps it for the next EVALSHA
    args[0] = "EVAL";
    args[1] = source;
    result = co_await command(std::move(args));
  }
  co_return result;
}

std::shared_ptr<RedisConnection> connection_for(asio::io_context& io, const RedisSettings& settings) {
  thread_local std::unordered_map<std::string, std::shared_ptr<RedisConnection>> connections;
  auto& slot = connections[std::to_string(reinterpret_cast<std::uintptr_t>(&io)) + "|" + settings.key()];
  if (!slot) slot = std::make_shared<RedisConnection>(io, settings);
  return slot;
}

}  // namespace portico::net

namespace portico::net {

asio::awaitable<std::shared_ptr<RedisConnection>> connection_here(const RedisSettings& settings) {
  auto executor = co_await asio::this_coro::executor;
  auto& io = static_cast<asio::io_context&>(asio::query(executor, asio::execution::context));
  co_return connection_for(io, settings);
}

}  // namespace portico::net
