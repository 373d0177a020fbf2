// The circuit-breaker plugin (Portico's own; service or route scope): the schema, the
// configured instance, and its phases. The state machine is circuit_breaker.hpp.
//
//   access: admits the request, or answers error_status at once while the circuit is open;
//   log:    records the upstream outcome of an admitted request (or gives back its probe slot
//           when it ended without one: the client went away, or an upstream limit shed it).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "obs/prometheus_text.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"
#include "plugins/circuit-breaker/circuit_breaker.hpp"
#include "proxy/shared_state.hpp"

namespace portico::plugin {
namespace {

using plugins::CircuitBreaker;
using plugins::CircuitBreakerConfig;

const ConfigSchema& config_schema() {
  using C = CircuitBreakerConfig;
  static const ConfigSchemaOf<C> schema(
      schema::Record<C>()
          .field("max_failures", &C::max_failures, {.min = 0, .max = 1000000})
          .field("window_size", &C::window_size, {.min = 0.001, .max = 86400})
          .field("failure_ratio", &C::failure_ratio, {.min = 0, .max = 1})
          .field("min_requests", &C::min_requests, {.min = 1, .max = 1000000})
          .field("open_timeout", &C::open_timeout, {.min = 0.001, .max = 86400})
          .field("half_open_requests", &C::half_open_requests, {.min = 1, .max = 1000})
          .field("failure_statuses", &C::failure_statuses, {.min = 100, .max = 599})
          .field("count_timeouts", &C::count_timeouts)
          .field("count_connection_errors", &C::count_connection_errors)
          .field("error_status", &C::error_status, {.min = 400, .max = 599})
          .field("error_message", &C::error_message)
          .check([](const C& c, schema::Errors& errors) {
            if (c.max_failures == 0 && c.failure_ratio == 0) {
              errors.push_back({"", "set max_failures or failure_ratio (both are 0: the circuit could never open)"});
            }
          }));
  return schema;
}

// What a request holds between access and log.
struct Ticket {
  CircuitBreaker::Admission admission = CircuitBreaker::Admission::reject;
  bool admitted = false;
};

class BreakerInstance final : public Instance {
 public:
  BreakerInstance(const CircuitBreakerConfig& config, std::shared_ptr<CircuitBreaker> breaker)
      : config_(config), breaker_(std::move(breaker)) {}
  const CircuitBreaker& breaker() const { return *breaker_; }

  Access access(RequestContext& ctx) const override {
    auto admission = breaker_->admit(CircuitBreaker::Clock::now());
    if (admission == CircuitBreaker::Admission::reject) {
      ctx.reply(config_.error_status, config_.error_message);
      return Access::replied;
    }
    auto& ticket = ctx.state<Ticket>(*this);
    ticket.admission = admission;
    ticket.admitted = true;
    return Access::next;
  }

  void log(RequestContext& ctx) const noexcept override {
    Ticket* ticket = ctx.existing_state<Ticket>(*this);
    if (ticket == nullptr || !ticket->admitted) return;
    const UpstreamVerdict& v = ctx.verdict;
    using Kind = UpstreamVerdict::Kind;
    if (v.kind == Kind::response || v.kind == Kind::failure) {
      breaker_->record(ticket->admission, breaker_->is_failure(v.status, v.timed_out, v.connection_error),
                       CircuitBreaker::Clock::now());
    } else {
      breaker_->abandon(ticket->admission);  // no verdict on the service
    }
  }

 private:
  const CircuitBreakerConfig& config_;  // owned by the snapshot's configuration
  std::shared_ptr<CircuitBreaker> breaker_;
};

// The parts of the config that shape the breaker's state: a reload that changes none of
// them keeps the circuit's state.
std::string state_key(const CircuitBreakerConfig& c) {
  std::string statuses;
  for (int s : c.failure_statuses) statuses += std::to_string(s) + ",";
  return fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}", c.max_failures, c.window_size, c.failure_ratio, c.min_requests,
                     c.open_timeout, c.half_open_requests, statuses, c.count_timeouts, c.count_connection_errors);
}

std::shared_ptr<const Instance> instantiate(const ParsedConfig& parsed, BuildContext& ctx) {
  const auto& c = static_cast<const CircuitBreakerConfig&>(parsed);
  auto breaker = ctx.shared.plugin_state<CircuitBreaker>(
      ctx.key + "|" + state_key(c), [&] { return std::make_shared<CircuitBreaker>(c, ctx.scope_name); });
  return std::make_shared<BreakerInstance>(c, std::move(breaker));
}

// GET /circuit-breakers: every breaker of the running configuration and its state.
AdminAnswer list_breakers(const AdminCall& call) {
  boost::json::array data;
  for (const auto& [entry, instance] : call.instances) {
    const auto* breaker = dynamic_cast<const BreakerInstance*>(instance);
    if (breaker == nullptr) continue;  // a disabled entry
    const CircuitBreaker& b = breaker->breaker();
    data.push_back(boost::json::object{{"plugin_id", entry->id},
                                       {"scope", b.scope_name()},
                                       {"state", CircuitBreaker::state_name(b.state())},
                                       {"times_opened", b.times_opened()},
                                       {"rejected", b.rejected()}});
  }
  return {200, boost::json::object{{"data", std::move(data)}}};
}

// portico_circuit_breaker_state{plugin_id, scope, state}: 1 for the breaker's current state.
void breaker_metrics(const PluginInstances& instances, obs::PrometheusText& out) {
  out.family("portico_circuit_breaker_state", "gauge",
             "Each circuit breaker's state: 1 for the current one of closed, open, half-open");
  for (const auto& [entry, instance] : instances) {
    const auto* breaker = dynamic_cast<const BreakerInstance*>(instance);
    if (breaker == nullptr) continue;
    const CircuitBreaker& b = breaker->breaker();
    for (auto state : {CircuitBreaker::State::closed, CircuitBreaker::State::open, CircuitBreaker::State::half_open}) {
      obs::Label labels[] = {{"plugin_id", entry->id}, {"scope", b.scope_name()}, {"state", CircuitBreaker::state_name(state)}};
      out.sample("portico_circuit_breaker_state", labels, std::uint64_t{b.state() == state ? 1u : 0u});
    }
  }
}

}  // namespace

const Schema& circuit_breaker_schema() {
  static const Schema schema{
      .name = "circuit-breaker",
      // After authentication, rate limiting and the response cache (an unauthenticated,
      // limited or cached request says nothing about the upstream), before the loggers.
      .priority = 90,
      .phases = kAccess | kLog,
      .scopes = kService | kRoute,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate,
      .admin_endpoints = {{"/circuit-breakers", {"GET", "HEAD"}, answer_now<list_breakers>}},
      // A service's breaker also guards the calls the aggregate plugin makes to it.
      .guards_upstream = true,
      .hosts = nullptr,
      .metrics = breaker_metrics,
  };
  return schema;
}

}  // namespace portico::plugin
