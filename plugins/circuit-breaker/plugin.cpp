// The circuit-breaker plugin (Portico's own; service or route scope): the schema, the
// configured instance, and its phases. The state machine is circuit_breaker.hpp.
//
//   access: admits the request, or answers error_status at once while the circuit is open;
//   log:    records the upstream outcome of an admitted request (or gives back its probe slot
//           when it ended without one: the client went away, or an upstream limit shed it).
#include <fmt/format.h>

#include "config/yaml_reader.hpp"
#include "plugin/request_context.hpp"
#include "plugins/circuit-breaker/circuit_breaker.hpp"
#include "proxy/shared_state.hpp"

namespace portico::plugin {
namespace {

using plugins::CircuitBreaker;
using plugins::CircuitBreakerConfig;

std::shared_ptr<const ParsedConfig> parse(config::YamlReader& r, const YAML::Node& node, const std::string& path) {
  auto c = std::make_shared<CircuitBreakerConfig>();
  c->mark = config::mark_of(node);
  if (!node.IsDefined() || node.IsNull()) return c;
  config::FieldTable fields{
      {"max_failures", r.int_field(c->max_failures, 0, 1000000)},
      {"window_size", r.number_field(c->window_size, 0.001, 86400)},
      {"failure_ratio", r.number_field(c->failure_ratio, 0, 1)},
      {"min_requests", r.int_field(c->min_requests, 1, 1000000)},
      {"open_timeout", r.number_field(c->open_timeout, 0.001, 86400)},
      {"half_open_requests", r.int_field(c->half_open_requests, 1, 1000)},
      {"failure_statuses", r.int_list_field(c->failure_statuses, 100, 599)},
      {"count_timeouts", r.bool_field(c->count_timeouts)},
      {"count_connection_errors", r.bool_field(c->count_connection_errors)},
      {"error_status", r.int_field(c->error_status, 400, 599)},
      {"error_message", r.string_field(c->error_message)},
  };
  r.read_object(node, path, fields);
  if (c->max_failures == 0 && c->failure_ratio == 0) {
    r.add(node, path, "set max_failures or failure_ratio (both are 0: the circuit could never open)");
  }
  return c;
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

}  // namespace

const Schema& circuit_breaker_schema() {
  static const Schema schema{
      .name = "circuit-breaker",
      // After authentication, rate limiting and the response cache (an unauthenticated,
      // limited or cached request says nothing about the upstream), before the loggers.
      .priority = 90,
      .phases = kAccess | kLog,
      .scopes = kService | kRoute,
      .parse = parse,
      .check = nullptr,
      .instantiate = instantiate,
  };
  return schema;
}

}  // namespace portico::plugin
