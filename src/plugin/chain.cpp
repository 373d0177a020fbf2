#include "plugin/chain.hpp"

#include <algorithm>
#include <boost/asio/use_awaitable.hpp>
#include <map>

namespace portico::plugin {

boost::asio::awaitable<Access> Instance::access_async(RequestContext&) const { co_return Access::next; }

namespace {

using config::PluginEntry;

// Kong's precedence, most specific first: index by (consumer, route, service).
int specificity(const PluginEntry& e) {
  bool c = e.consumer != PluginEntry::kNone, r = e.route != PluginEntry::kNone, s = e.service != PluginEntry::kNone;
  static constexpr int table[2][2][2] = {{{0, 1}, {2, 4}}, {{3, 5}, {6, 7}}};  // [c][r][s]
  return table[c][r][s];
}

bool entry_applies(const PluginEntry& e, std::size_t route_index, std::size_t service_index, std::size_t consumer_index) {
  if (e.route != PluginEntry::kNone && e.route != route_index) return false;
  if (e.service != PluginEntry::kNone && e.service != service_index) return false;
  if (e.consumer != PluginEntry::kNone && e.consumer != consumer_index) return false;
  return true;
}

Chain build_chain(const config::DeclarativeConfig& config, const std::vector<std::shared_ptr<const Instance>>& instances,
                  std::size_t route_index, std::size_t service_index, std::size_t consumer_index) {
  // Per plugin name, the most specific enabled entry.
  std::map<std::string_view, std::size_t> chosen;
  for (std::size_t i = 0; i < config.plugins.size(); ++i) {
    const auto& e = config.plugins[i];
    if (!e.enabled || !instances[i] || !entry_applies(e, route_index, service_index, consumer_index)) continue;
    auto [it, inserted] = chosen.emplace(e.name, i);
    if (!inserted && specificity(e) > specificity(config.plugins[it->second])) it->second = i;
  }
  Chain chain;
  for (auto [name, i] : chosen) {
    const Schema* schema = config.plugins[i].schema;
    chain.entries.push_back({schema, instances[i].get(), schema->phases & instances[i]->phases(schema->phases)});
  }
  std::stable_sort(chain.entries.begin(), chain.entries.end(), [](const ChainEntry& a, const ChainEntry& b) {
    if (a.schema->priority != b.schema->priority) return a.schema->priority > b.schema->priority;
    return a.schema->name < b.schema->name;
  });
  for (const auto& entry : chain.entries) chain.phases |= entry.phases;
  return chain;
}

// True when `a` runs before `b`.
bool runs_before(const Schema& a, const Schema& b) {
  if (a.priority != b.priority) return a.priority > b.priority;
  return a.name < b.name;
}

}  // namespace

const Chain& Chains::for_consumer(const config::ConsumerConfig* consumer) const {
  auto it = std::lower_bound(by_consumer.begin(), by_consumer.end(), consumer,
                             [](const auto& entry, const config::ConsumerConfig* c) { return entry.first < c; });
  if (it != by_consumer.end() && it->first == consumer) return it->second;
  return base;
}

Chains resolve_chains(const config::DeclarativeConfig& config, const std::vector<std::shared_ptr<const Instance>>& instances,
                      std::size_t route_index) {
  Chains chains;
  std::size_t service_index = config.routes[route_index].service_index;
  chains.base = build_chain(config, instances, route_index, service_index, PluginEntry::kNone);
  chains.phases = chains.base.phases;
  std::vector<std::size_t> consumers;
  for (std::size_t i = 0; i < config.plugins.size(); ++i) {
    const auto& e = config.plugins[i];
    if (e.enabled && instances[i] && e.consumer != PluginEntry::kNone &&
        entry_applies(e, route_index, service_index, e.consumer)) {
      consumers.push_back(e.consumer);
    }
  }
  std::sort(consumers.begin(), consumers.end());
  consumers.erase(std::unique(consumers.begin(), consumers.end()), consumers.end());
  for (std::size_t c : consumers) {
    Chain chain = build_chain(config, instances, route_index, service_index, c);
    chains.phases |= chain.phases;
    chains.by_consumer.emplace_back(&config.consumers[c], std::move(chain));
  }
  std::sort(chains.by_consumer.begin(), chains.by_consumer.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return chains;
}

Chains resolve_service_guards(const config::DeclarativeConfig& config,
                              const std::vector<std::shared_ptr<const Instance>>& instances, std::size_t service_index) {
  Chains chains;
  Chain all = build_chain(config, instances, PluginEntry::kNone, service_index, PluginEntry::kNone);
  for (const auto& entry : all.entries) {
    if (!entry.schema->guards_upstream) continue;
    chains.base.entries.push_back(entry);
    chains.base.phases |= entry.phases;
  }
  chains.phases = chains.base.phases;
  return chains;
}

namespace {

// After the plugin at ctx.access_index finished, moves to the next one: in the consumer's
// chain when one was just identified and has entries of its own.
void advance(RequestContext& ctx) {
  const Chains& chains = *ctx.chains();
  const Chain* current = ctx.active_chain;
  const Schema& done = *current->entries[ctx.access_index].schema;
  const Chain& wanted = ctx.consumer() != nullptr && !chains.by_consumer.empty() ? chains.for_consumer(ctx.consumer())
                                                                                   : chains.base;
  if (&wanted == current) {
    ++ctx.access_index;
    return;
  }
  ctx.active_chain = &wanted;
  ctx.access_index = 0;
  while (ctx.access_index < wanted.entries.size() && !runs_before(done, *wanted.entries[ctx.access_index].schema)) {
    ++ctx.access_index;
  }
}

Access run_from_current(RequestContext& ctx) {
  while (ctx.access_index < ctx.active_chain->entries.size()) {
    const ChainEntry& entry = ctx.active_chain->entries[ctx.access_index];
    if ((entry.phases & kAccess) != 0) {
      Access a = entry.instance->access(ctx);
      if (a != Access::next) return a;
    }
    advance(ctx);
  }
  return Access::next;
}

}  // namespace

Access run_access(RequestContext& ctx) {
  ctx.active_chain = &ctx.chains()->base;
  ctx.access_index = 0;
  return run_from_current(ctx);
}

boost::asio::awaitable<Access> finish_access(RequestContext& ctx) {
  Access outcome = Access::suspend;
  while (outcome == Access::suspend) {
    outcome = co_await ctx.active_chain->entries[ctx.access_index].instance->access_async(ctx);
    if (outcome != Access::next) break;
    advance(ctx);
    outcome = run_from_current(ctx);
  }
  co_return outcome;
}

namespace {
template <typename Fn>
void for_each_in_phase(RequestContext& ctx, Phase phase, Fn fn) {
  const Chain* chain = ctx.active_chain;
  if (chain == nullptr || !chain->uses(phase)) return;
  for (const auto& entry : chain->entries) {
    if ((entry.phases & phase) != 0) fn(*entry.instance);
  }
}
}  // namespace

void run_upstream_request(RequestContext& ctx) {
  for_each_in_phase(ctx, kUpstreamRequest, [&](const Instance& i) { i.upstream_request(ctx); });
}

void run_response_headers(RequestContext& ctx) {
  for_each_in_phase(ctx, kResponseHeaders, [&](const Instance& i) { i.response_headers(ctx); });
}

BodyNeed response_body_need(const RequestContext& ctx) {
  BodyNeed need;
  bool all_pass = true;
  for_each_in_phase(const_cast<RequestContext&>(ctx), kResponseBody, [&](const Instance& i) {
    BodyNeed one = i.response_body_need(ctx);
    if (!one.wanted) return;
    need.wanted = true;
    if (one.max_bytes != 0 && (need.max_bytes == 0 || one.max_bytes < need.max_bytes)) need.max_bytes = one.max_bytes;
    all_pass = all_pass && one.pass_when_larger;
  });
  need.pass_when_larger = need.wanted && all_pass;
  return need;
}

void run_response_body(RequestContext& ctx, std::string& body) {
  for_each_in_phase(ctx, kResponseBody, [&](const Instance& i) {
    if (ctx.reply_status() == 0 && i.response_body_need(ctx).wanted) i.response_body(ctx, body);
  });
}

bool run_upstream_error(RequestContext& ctx, int status) {
  const Chain* chain = ctx.active_chain;
  if (chain == nullptr || !chain->uses(kUpstreamError)) return false;
  for (const auto& entry : chain->entries) {
    if ((entry.phases & kUpstreamError) == 0) continue;
    entry.instance->upstream_error(ctx, status);
    if (ctx.reply_status() != 0) return true;
  }
  return false;
}

bool run_upstream_error_over_reply(RequestContext& ctx) {
  int status = ctx.reply_status();
  if (!is_upstream_error_status(status) || ctx.reply_is_stored() || !ctx.active_chain->uses(kUpstreamError)) return false;
  std::string_view body = ctx.reply_body(), headers = ctx.reply_headers();  // (in the arena: still valid)
  ctx.clear_reply();
  if (run_upstream_error(ctx, status)) return true;
  ctx.reply_json(status, body, headers);
  return false;
}

void run_body_captured(RequestContext& ctx) {
  ctx.set_capture_complete();
  for_each_in_phase(ctx, kBodyCaptured, [&](const Instance& i) { i.body_captured(ctx); });
}

void run_log(RequestContext& ctx) noexcept {
  for_each_in_phase(ctx, kLog, [&](const Instance& i) { i.log(ctx); });
}

}  // namespace portico::plugin
