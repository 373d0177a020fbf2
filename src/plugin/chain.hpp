// Plugin chains: which configured plugins run for a route, in Kong's priority order,
// resolved once per snapshot (never per request), and the functions that run a phase
// over a chain.
//
// Precedence (Kong's): for each plugin name the most specific enabled entry wins:
//   consumer+route+service > consumer+route > consumer+service > route+service >
//   consumer > route > service > global.
// A route has a base chain (entries without a consumer) and, for each consumer that has
// consumer-scoped entries, a chain of its own; the access phase switches to it as soon
// as an auth plugin identifies that consumer, for the plugins that follow.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/model.hpp"
#include "plugin/plugin.hpp"
#include "plugin/request_context.hpp"

namespace portico::plugin {

struct ChainEntry {
  const Schema* schema = nullptr;
  const Instance* instance = nullptr;
  unsigned phases = 0;  // the phases it runs in: the schema's, less those the instance leaves out
};

struct Chain {
  std::vector<ChainEntry> entries;  // by priority, highest first (ties: by name)
  unsigned phases = 0;              // union of the entries' phases
  bool uses(Phase p) const { return (phases & p) != 0; }
};

struct Chains {
  Chain base;
  // Consumers with entries of their own, sorted by pointer.
  std::vector<std::pair<const config::ConsumerConfig*, Chain>> by_consumer;
  unsigned phases = 0;  // union over all chains
  bool empty() const { return phases == 0; }
  bool uses(Phase p) const { return (phases & p) != 0; }
  const Chain& for_consumer(const config::ConsumerConfig* consumer) const;
};

// Builds a route's chains. `instances` is parallel to config.plugins (null: disabled or
// failed). Control thread.
Chains resolve_chains(const config::DeclarativeConfig& config,
                      const std::vector<std::shared_ptr<const Instance>>& instances, std::size_t route_index);

// A service's upstream guards (plugins whose Schema::guards_upstream is set, scoped to that
// service alone): what runs for the gateway's own calls to it. Control thread.
Chains resolve_service_guards(const config::DeclarativeConfig& config,
                              const std::vector<std::shared_ptr<const Instance>>& instances, std::size_t service_index);

// Runs the access phase of ctx.chains() from the start until a plugin replies or
// suspends, or the chain ends. Synchronous: no coroutine frame for the common case.
Access run_access(RequestContext& ctx);
// After run_access() returned suspend: awaits that plugin's access_async(), then goes on.
boost::asio::awaitable<Access> finish_access(RequestContext& ctx);

// The other phases, over the chain the access phase ended on (ctx.active_chain()).
void run_upstream_request(RequestContext& ctx);
void run_response_headers(RequestContext& ctx);
// What the chain's response_body plugins need of this response (ctx.upstream_response() set):
// wanted if one wants it; the smallest limit; passed untouched when larger only if every
// plugin that wants it says so.
BodyNeed response_body_need(const RequestContext& ctx);
void run_response_body(RequestContext& ctx, std::string& body);
void run_log(RequestContext& ctx) noexcept;
// The answers RFC 5861 counts as an upstream's errors (500, 502, 503, 504): those the
// upstream_error phase may answer instead.
inline bool is_upstream_error_status(int status) {
  return status == 500 || status == 502 || status == 503 || status == 504;
}
// The upstream failed with `status`: true when a plugin answered instead (ctx has its reply).
bool run_upstream_error(RequestContext& ctx, int status);
// A plugin answered the access phase with 500/502/503/504 (an open circuit breaker's 503): the
// upstream_error phase may answer instead (a cache's stale entry). True when one did; else
// the first answer stands.
bool run_upstream_error_over_reply(RequestContext& ctx);
// The captured response body is complete: marks it so and runs the body_captured phase.
void run_body_captured(RequestContext& ctx);

}  // namespace portico::plugin
