// The request-throttling plugin (Portico's, priority 905: after rate-limiting, so a request
// refused by the rate limit never takes a slot): at most `concurrency` requests in flight per
// key, a bounded FIFO queue for the others (`queue_size`, `queue_timeout`), and a refusal
// beyond it. The shared state is throttle.hpp; see README.md.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "plugin/config_schema.hpp"
#include "plugin/limit_by.hpp"
#include "plugin/request_context.hpp"
#include "plugins/request-throttling/throttle.hpp"
#include "proxy/shared_state.hpp"

namespace portico::plugin {
namespace {

using plugins::throttle::Throttle;
using plugins::throttle::Waiter;

struct ThrottlingConfig : ParsedConfig {
  int concurrency = 1;  // requests in flight per key (required)
  LimitBy by;
  int queue_size = 0;        // requests that may wait for a slot, per key; 0: refuse at once
  int queue_timeout = 1000;  // ms a queued request waits before it is refused
  int error_code = 429;
  std::string error_message = "Too many concurrent requests";
};

const ConfigSchema& config_schema() {
  using C = ThrottlingConfig;
  static const ConfigSchemaOf<C> schema([] {
    schema::Record<C> r;
    r.field("concurrency", &C::concurrency, {.min = 1, .max = 1000000, .required = true});
    add_limit_by_fields(r, &C::by);
    r.field("queue_size", &C::queue_size, {.min = 0, .max = 100000})
        .field("queue_timeout", &C::queue_timeout, {.min = 1, .max = 600000})
        .field("error_code", &C::error_code, {.min = 400, .max = 599})
        .field("error_message", &C::error_message);
    r.finish([](C& c, const boost::json::object&, schema::Errors& errors) { check_limit_by(c.by, errors); });
    return r;
  }());
  return schema;
}

// What a request holds from access to log (trivially destructible: it lives in the arena).
struct Ticket {
  bool admitted = false;
  std::string_view key;  // in the request's arena
};

class ThrottlingInstance final : public Instance {
 public:
  ThrottlingInstance(const ThrottlingConfig& config, BuildContext& ctx)
      : config_(config),
        // Kept across reloads of the entry (a new concurrency applies to the slots in use).
        throttle_(ctx.shared.plugin_state<Throttle>(ctx.key, [] { return std::make_shared<Throttle>(); })) {}

  Access access(RequestContext& ctx) const override {
    std::string_view key = limit_key(ctx, config_.by);
    if (throttle_->enter(key, config_.concurrency, 0, nullptr) == Throttle::Entry::admitted) return admit(ctx, key);
    if (config_.queue_size == 0) return refuse(ctx);
    return Access::suspend;  // access_async queues it
  }

  boost::asio::awaitable<Access> access_async(RequestContext& ctx) const override {
    std::string_view key = ctx.store(limit_key(ctx, config_.by));
    // Requests run on workers, each with its mailbox.
    auto waiter = std::make_shared<Waiter>(co_await boost::asio::this_coro::executor, *Mailbox::current());
    Throttle::Entry entry = throttle_->enter(key, config_.concurrency, config_.queue_size, waiter);
    if (entry == Throttle::Entry::admitted) co_return admit(ctx, key);
    if (entry == Throttle::Entry::refused) co_return refuse(ctx);
    // Queued: a leaving request cancels the wait when it hands its slot over.
    QueuedGuard guard{*throttle_, key, waiter};
    waiter->timer.expires_after(std::chrono::milliseconds(config_.queue_timeout));
    auto [ec] = co_await waiter->timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    (void)ec;  // woken (a slot came) or timed out: abandon() tells which, under the lock
    guard.settled = true;
    bool granted = !throttle_->abandon(key, waiter);
    if (!granted) co_return refuse(ctx);
    co_return admit(ctx, key);
  }

  void log(RequestContext& ctx) const noexcept override {
    Ticket* ticket = ctx.existing_state<Ticket>(*this);
    if (ticket != nullptr && ticket->admitted) throttle_->leave(ticket->key);
  }

 private:
  // A queued request whose coroutine ends without waking (its loop is destroyed: the gateway
  // stops): out of the queue, or, if a slot came to it meanwhile, the slot given back
  // without waking anyone (other workers' loops may be gone too).
  struct QueuedGuard {
    Throttle& throttle;
    std::string_view key;
    std::shared_ptr<Waiter> waiter;
    bool settled = false;
    ~QueuedGuard() {
      if (!settled && !throttle.abandon(key, waiter)) throttle.release(key);
    }
  };

  Access admit(RequestContext& ctx, std::string_view key) const {
    Ticket& ticket = ctx.state<Ticket>(*this);
    ticket.admitted = true;
    ticket.key = ctx.store(key);
    return Access::next;
  }

  Access refuse(RequestContext& ctx) const {
    ctx.reply(config_.error_code, config_.error_message, "Retry-After: 1\r\n");
    return Access::replied;
  }

  const ThrottlingConfig& config_;  // owned by the snapshot's configuration
  std::shared_ptr<Throttle> throttle_;
};

}  // namespace

const Schema& request_throttling_schema() {
  static const Schema schema{
      .name = "request-throttling",
      .priority = 905,
      .phases = kAccess | kLog,
      .scopes = kGlobal | kService | kRoute | kConsumer,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate_as<ThrottlingInstance, ThrottlingConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
