// The rate-limiting plugin (Kong's, priority 910): the schema, the configured instance and
// its access phase. The algorithms are limits.hpp; the `local` policy's store is
// local_counters.hpp. See README.md for the fields and what Portico adds to Kong's plugin.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cmath>

#include "config/validators.hpp"
#include "obs/counter_family.hpp"
#include "obs/log_limiter.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/limit_by.hpp"
#include "plugin/redis_fields.hpp"
#include "plugin/request_context.hpp"
#include "router/router.hpp"
#include "plugins/rate-limiting/limits.hpp"
#include "plugins/rate-limiting/local_counters.hpp"
#include "plugins/rate-limiting/redis_script.hpp"
#include "net/redis_client.hpp"
#include "plugin/counters.hpp"
#include <spdlog/spdlog.h>
#include "proxy/shared_state.hpp"

namespace portico::plugin {
namespace {

namespace rl = plugins::ratelimit;
namespace json = boost::json;
using schema::Errors;


struct RateLimitingConfig : ParsedConfig {
  // Requests per window (second ... year, as rl::kPeriods); -1 (null): no limit for that window.
  std::array<double, rl::kPeriods.size()> windows{-1, -1, -1, -1, -1, -1};
  LimitBy by;  // limit_by, header_name, path
  std::string policy = "local";
  bool fault_tolerant = true;
  RedisFields redis;
  // Kong's deprecated flat aliases of `redis` (input only, see finish_config).
  std::string redis_host, redis_username, redis_password, redis_server_name;
  int redis_port = -1, redis_timeout = -1, redis_database = -1;
  bool redis_ssl = false, redis_ssl_verify = false;
  bool hide_client_headers = false;
  int error_code = 429;
  std::string error_message = "API rate limit exceeded";
  double sync_rate = -1;
  // Portico's (README.md): the algorithm, the token bucket's capacity, the local store's bound.
  std::string algorithm = "fixed-window";
  double burst = -1;
  int local_max_keys = 100000;

  double window(rl::Period p) const { return windows[static_cast<std::size_t>(p)]; }
};

bool given(const json::object& input, std::string_view field) {
  const auto* v = input.if_contains(field);
  return v != nullptr && !v->is_null();
}

std::string text_of(const std::string& v) { return v; }
std::string text_of(int v) { return std::to_string(v); }
std::string text_of(bool v) { return v ? "true" : "false"; }

// A deprecated flat field (redis_host) sets its nested one (redis.host); both given with
// different values is Kong's error.
template <typename T>
void apply_alias(RateLimitingConfig& c, const json::object& input, const char* flat, const char* nested,
                 T RateLimitingConfig::*from, T RedisFields::*to, Errors& errors) {
  if (!given(input, flat)) return;
  const auto* redis = input.if_contains("redis");
  bool nested_given = redis != nullptr && redis->is_object() && given(redis->as_object(), nested);
  if (nested_given && c.redis.*to != c.*from) {
    errors.push_back({flat, fmt::format("both deprecated and new field are used but their values mismatch: {} = {} vs redis.{} = {}",
                                        flat, text_of(c.*from), nested, text_of(c.redis.*to))});
    return;
  }
  c.redis.*to = c.*from;
}

void finish_config(RateLimitingConfig& c, const json::object& input, Errors& errors) {
  using C = RateLimitingConfig;
  using R = RedisFields;
  apply_alias(c, input, "redis_host", "host", &C::redis_host, &R::host, errors);
  apply_alias(c, input, "redis_port", "port", &C::redis_port, &R::port, errors);
  apply_alias(c, input, "redis_timeout", "timeout", &C::redis_timeout, &R::timeout, errors);
  apply_alias(c, input, "redis_username", "username", &C::redis_username, &R::username, errors);
  apply_alias(c, input, "redis_password", "password", &C::redis_password, &R::password, errors);
  apply_alias(c, input, "redis_database", "database", &C::redis_database, &R::database, errors);
  apply_alias(c, input, "redis_ssl", "ssl", &C::redis_ssl, &R::ssl, errors);
  apply_alias(c, input, "redis_ssl_verify", "ssl_verify", &C::redis_ssl_verify, &R::ssl_verify, errors);
  apply_alias(c, input, "redis_server_name", "server_name", &C::redis_server_name, &R::server_name, errors);

  bool any = false;
  for (rl::Period p : rl::kPeriods) {
    double v = c.window(p);
    if (given(input, rl::period_name(p))) {
      any = true;
      if (v <= 0) errors.push_back({std::string(rl::period_name(p)), "value must be greater than 0"});
    }
  }
  if (!any) {
    errors.push_back({"", "at least one of these fields must be non-empty: 'config.second', 'config.minute', "
                          "'config.hour', 'config.day', 'config.month', 'config.year'"});
  }
  // Kong: a longer window cannot have a lower limit than a shorter one.
  for (std::size_t i = 0; i < rl::kPeriods.size(); ++i) {
    for (std::size_t j = i + 1; j < rl::kPeriods.size(); ++j) {
      double lower = c.window(rl::kPeriods[i]), upper = c.window(rl::kPeriods[j]);
      if (lower > 0 && upper > 0 && upper < lower) {
        errors.push_back({"", fmt::format("The limit for {}({:.1f}) cannot be lower than the limit for {}({:.1f})",
                                          rl::period_name(rl::kPeriods[j]), upper, rl::period_name(rl::kPeriods[i]), lower)});
        i = j = rl::kPeriods.size();  // the first violation only, as Kong
      }
    }
  }
  check_limit_by(c.by, errors);
  if (c.policy != "redis" && c.sync_rate != -1) errors.push_back({"", "sync_rate can only be used with the redis policy"});
  if (c.policy == "redis" && c.sync_rate != -1 && c.sync_rate < 0.02) {
    errors.push_back({"", "sync_rate must be greater than 0.02, or -1 to disable"});
  }
  // `cluster` (Kong's counters in its PostgreSQL) counts in Redis here, as `redis` does
  // (README.md, "policy: cluster"): exact with atomic scripts, and no write to the
  // configuration database for every request.
  if (c.policy == "cluster" && c.redis.host.empty()) {
    errors.push_back({"redis.host", "required field missing (policy 'cluster' counts in Redis in Portico, exactly "
                                    "across nodes; give the Redis server every node uses)"});
  } else if (c.policy == "redis" && c.redis.host.empty()) {
    errors.push_back({"redis.host", "required field missing"});
  }
  refuse_unsupported_redis(c.redis, "redis", errors);
  rl::Algorithm algorithm = rl::parse_algorithm(c.algorithm);
  if (c.burst >= 0 && algorithm != rl::Algorithm::token_bucket) {
    errors.push_back({"burst", "only used with algorithm 'token-bucket'"});
  } else if (c.burst >= 0 && c.burst < 1) {
    errors.push_back({"burst", "value should be between 1 and 1000000000"});
  }
  if (algorithm == rl::Algorithm::sliding_log) {
    for (rl::Period p : rl::kPeriods) {
      if (c.window(p) > static_cast<double>(rl::kMaxLogLimit)) {
        errors.push_back({std::string(rl::period_name(p)),
                          fmt::format("sliding-log keeps one timestamp per admitted request: at most {} per window "
                                      "(use sliding-window for larger limits)",
                                      rl::kMaxLogLimit)});
      } else if (c.policy == "local" &&
                 c.window(p) * static_cast<double>(c.local_max_keys) > static_cast<double>(rl::kMaxLocalLogEntries)) {
        // The local store's memory: 8 bytes per timestamp, for every key it may hold.
        errors.push_back({std::string(rl::period_name(p)),
                          fmt::format("sliding-log with the local policy keeps up to limit x local_max_keys "
                                      "timestamps: at most {} (400 MB); lower local_max_keys or use sliding-window",
                                      rl::kMaxLocalLogEntries)});
      }
    }
  }
}

const ConfigSchema& config_schema() {
  using C = RateLimitingConfig;
  static const ConfigSchemaOf<C> schema([] {
    schema::Record<C> r;
    for (rl::Period p : rl::kPeriods) {
      const auto index = static_cast<std::size_t>(p);
      r.field<double>(std::string(rl::period_name(p)), [index](C& c) -> double& { return c.windows[index]; },
                      {.nullable = true});
    }
    add_limit_by_fields(r, &C::by);
    r.field("policy", &C::policy, {.one_of = {"local", "cluster", "redis"}})
        .field("fault_tolerant", &C::fault_tolerant)
        .record<RedisFields>("redis", [](C& c) -> RedisFields& { return c.redis; }, redis_record())
        .field("hide_client_headers", &C::hide_client_headers)
        .field("error_code", &C::error_code, {.min = 400, .max = 599})
        .field("error_message", &C::error_message)
        .field("sync_rate", &C::sync_rate)
        // Portico's own.
        .field("algorithm", &C::algorithm, {.one_of = {"fixed-window", "sliding-window", "sliding-log", "token-bucket"}})
        .field("burst", &C::burst, {.nullable = true})
        .field("local_max_keys", &C::local_max_keys, {.min = 64, .max = 100000000})
        // Kong's deprecated flat aliases of `redis`.
        .field("redis_host", &C::redis_host, {.nullable = true, .input_only = true})
        .field("redis_port", &C::redis_port, {.min = 0, .max = 65535, .nullable = true, .input_only = true})
        .field("redis_timeout", &C::redis_timeout, {.min = 0, .max = 2147483646, .nullable = true, .input_only = true})
        .field("redis_username", &C::redis_username, {.nullable = true, .input_only = true})
        .field("redis_password", &C::redis_password, {.nullable = true, .input_only = true})
        .field("redis_database", &C::redis_database, {.nullable = true, .input_only = true})
        .field("redis_ssl", &C::redis_ssl, {.input_only = true})
        .field("redis_ssl_verify", &C::redis_ssl_verify, {.input_only = true})
        .field("redis_server_name", &C::redis_server_name, {.nullable = true, .input_only = true});
    r.finish(finish_config);
    return r;
  }());
  return schema;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The `local` policy's counters of one plugin entry, kept across reloads that keep the
// entry, its algorithm and its windows (a changed limit keeps the counts, as in Kong).
struct LocalStore {
  LocalStore(rl::Algorithm algorithm, std::size_t windows, std::size_t max_keys) : counters(algorithm, windows, max_keys) {}
  rl::LocalCounters counters;
  std::vector<rl::WindowLimit> limits;  // the latest instance's (read by the sweeper; control thread)
};

// Drops idle keys every second while the store lives (control thread).
boost::asio::awaitable<void> sweep_loop(std::weak_ptr<LocalStore> weak) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec) co_return;
    auto store = weak.lock();
    if (!store) co_return;
    store->counters.sweep(store->limits, now_ms());
  }
}

class RateLimitInstance final : public Instance {
 public:
  RateLimitInstance(const RateLimitingConfig& config, BuildContext& ctx)
      : config_(config), algorithm_(rl::parse_algorithm(config.algorithm)) {
    std::string periods;
    for (rl::Period p : rl::kPeriods) {
      double v = config.window(p);
      if (v <= 0) continue;
      auto limit = static_cast<std::int64_t>(std::ceil(v));  // a fractional limit admits its ceiling, as Kong
      std::int64_t burst = config.burst >= 1 ? static_cast<std::int64_t>(std::ceil(config.burst)) : limit;
      limits_.push_back({p, limit, burst});
      std::string shown = json::serialize(schema::number_json(v));
      prefixes_.push_back(fmt::format("X-RateLimit-Limit-{0}: {1}\r\nX-RateLimit-Remaining-{0}: ",
                                      rl::period_header_name(p), shown));
      shown_limits_.push_back(std::move(shown));
      periods += std::string(rl::period_name(p)) + ",";
    }
    auto algorithm = algorithm_;
    store_ = ctx.shared.plugin_state<LocalStore>(
        fmt::format("{}|{}|{}|{}", ctx.key, config.algorithm, periods, config.local_max_keys), [&] {
          auto fresh = std::make_shared<LocalStore>(algorithm, limits_.size(), static_cast<std::size_t>(config.local_max_keys));
          if (ctx.control != nullptr) boost::asio::co_spawn(*ctx.control, sweep_loop(fresh), boost::asio::detached);
          return fresh;
        });
    store_->limits = limits_;
    if (config.policy != "local") {
      use_redis_ = true;
      redis_ = config.redis.settings();
      // One hash tag per plugin entry and key (Redis Cluster keeps a key's windows together).
      redis_prefix_ = "portico-ratelimit:{" + ctx.key + "|";
    }
  }

  Access access(RequestContext& ctx) const override {
    if (use_redis_) return Access::suspend;
    thread_local rl::Decision decision;
    store_->counters.take(limit_key(ctx, config_.by), limits_, now_ms(), decision);
    return apply(ctx, decision);
  }

  // The redis policy: one atomic script per request on the worker's connection.
  boost::asio::awaitable<Access> access_async(RequestContext& ctx) const override {
    auto connection = co_await net::connection_here(redis_);
    std::string prefix = redis_prefix_;
    prefix.append(limit_key(ctx, config_.by));
    prefix += "}:" + config_.algorithm + ":";
    auto args = rl::decision_args(algorithm_, limits_, prefix, now_ms());
    net::RedisResult result = co_await connection->eval(rl::decision_script(), rl::decision_script_sha1(), std::move(args));
    thread_local rl::Decision decision;
    std::string why = result.failure;
    bool decided = result.ok && rl::read_decision(result.value, limits_, decision, why);
    if (!decided) {
      count_decision(ctx, config_.fault_tolerant ? "undecided_allowed" : "undecided_refused");
      report_redis_failure(why);
      if (config_.fault_tolerant) co_return Access::next;  // Kong: let it through, without headers
      ctx.reply(500, "An unexpected error occurred");
      co_return Access::replied;
    }
    co_return apply(ctx, decision);
  }

 private:
  // The decision's headers, and the refusal.
  Access apply(RequestContext& ctx, const rl::Decision& decision) const {
    count_decision(ctx, decision.allowed ? "allowed" : "limited");
    std::string_view headers;
    if (!config_.hide_client_headers) headers = header_lines(ctx, decision);
    if (!decision.allowed) {
      ctx.reply(config_.error_code, config_.error_message, headers);
      return Access::replied;
    }
    if (!headers.empty()) ctx.add_response_header_lines(headers);
    return Access::next;
  }

  // portico_rate_limiting_decisions_total{route, decision}: allowed, limited, or (the redis
  // policy unable to decide) undecided_allowed with fault_tolerant, undecided_refused without.
  static void count_decision(const RequestContext& ctx, std::string_view decision) {
    static obs::CounterFamily decisions("portico_rate_limiting_decisions_total",
                                        "Rate limiting decisions by route", {"route", "decision"});
    const auto* route = ctx.route();
    decisions.add({route == nullptr ? std::string_view{} : route->name.empty() ? std::string_view(route->id) : route->name,
                   decision});
  }

  // Counted in /status (rate_limiting_redis_failures), logged at most once a second.
  void report_redis_failure(const std::string& why) const {
    static std::atomic<std::uint64_t>& failures = counter("rate_limiting_redis_failures");
    static obs::OncePerSecond log;
    failures.fetch_add(1, std::memory_order_relaxed);
    if (log.allow()) {
      spdlog::warn("rate-limiting: redis {}:{} failed ({}); requests {} (rate_limiting_redis_failures in /status)",
                   redis_.host, redis_.port, why, config_.fault_tolerant ? "pass without a limit" : "get 500");
    }
  }

  // X-RateLimit-Limit-<Window> and -Remaining- for each window; RateLimit-Limit, -Remaining
  // and -Reset for the one with the least room left (the longest on a tie), and Retry-After
  // when refused.
  std::string_view header_lines(RequestContext& ctx, const rl::Decision& d) const {
    fmt::memory_buffer out;
    std::size_t chosen = 0;
    for (std::size_t i = 0; i < d.windows.size(); ++i) {
      const rl::WindowReport& w = d.windows[i];
      out.append(prefixes_[i]);
      fmt::format_to(std::back_inserter(out), "{}\r\n", w.remaining);
      // Later windows are longer: on a tie the later one wins.
      if (i == 0 || w.remaining <= d.windows[chosen].remaining) chosen = i;
    }
    const rl::WindowReport& c = d.windows[chosen];
    fmt::format_to(std::back_inserter(out), "RateLimit-Limit: {}\r\nRateLimit-Remaining: {}\r\nRateLimit-Reset: {}\r\n",
                   shown_limits_[chosen], c.remaining, d.allowed ? c.reset_s : d.retry_after_s);
    if (!d.allowed) fmt::format_to(std::back_inserter(out), "Retry-After: {}\r\n", d.retry_after_s);
    return ctx.store(std::string_view(out.data(), out.size()));
  }

  const RateLimitingConfig& config_;  // owned by the snapshot's configuration
  rl::Algorithm algorithm_;
  std::vector<rl::WindowLimit> limits_;
  bool use_redis_ = false;
  net::RedisSettings redis_;
  std::string redis_prefix_;
  std::vector<std::string> prefixes_;      // "X-RateLimit-Limit-Minute: 100\r\nX-RateLimit-Remaining-Minute: "
  std::vector<std::string> shown_limits_;  // the configured limits as written ("100", "2.5")
  std::shared_ptr<LocalStore> store_;
};

}  // namespace

const Schema& rate_limiting_schema() {
  static const Schema schema{
      .name = "rate-limiting",
      .priority = 910,
      .phases = kAccess,
      .scopes = kGlobal | kService | kRoute | kConsumer,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate_as<RateLimitInstance, RateLimitingConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
