#include "plugins/graphql/resolvers.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>

#include <algorithm>

#include "plugin/calls/call_group.hpp"
#include "plugin/calls/answer.hpp"
#include "plugin/calls/values.hpp"
#include "plugin/request_context.hpp"

namespace portico::plugins::graphql {

namespace json = boost::json;
namespace gql = portico::graphql;
namespace calls = plugin::calls;
using Clock = std::chrono::steady_clock;

namespace {

// A field waiting for a call's answer: the whole answer (after `select`), or for a batch the
// item whose key matches its parent's.
struct Waiting {
  gql::FieldCall* call = nullptr;
  const ResolverConfig* resolver = nullptr;
  std::optional<std::string> batch_key;
};

struct PendingCall {
  KnownCall* known = nullptr;  // none for calls never shared (not GET)
  plugin::CallGroup::Outgoing outgoing;
  std::vector<Waiting> waiting;
  std::chrono::milliseconds timeout{0};  // the resolver's, counted from when the call starts
};

// What makes two GET calls of one request the same call: destination, target, body and the
// headers that differ between resolvers (the headers every call of the request carries are
// left out: they are the same for all).
std::string call_identity(const plugin::CallGroup::Outgoing& o, std::size_t common_headers) {
  std::string identity;
  const std::string_view own_headers = std::string_view(o.header_lines).substr(common_headers);
  identity.reserve(sizeof o.request.service + sizeof o.request.fixed + o.target.size() + own_headers.size() + o.body.size() + 2);
  identity.append(reinterpret_cast<const char*>(&o.request.service), sizeof o.request.service);
  identity.append(reinterpret_cast<const char*>(&o.request.fixed), sizeof o.request.fixed);
  identity += o.target;
  identity += '\n';
  identity += own_headers;
  identity += '\n';
  identity += o.body;
  return identity;
}

// Gives a field its part of a shared answer: the value at the resolver's `select` pointer
// (null when the answer has nothing there), borrowed from the answer, which the field keeps.
void take_selected(gql::FieldCall& call, const std::shared_ptr<const json::value>& answer, const std::string& pointer) {
  const json::value* at = pointer.empty() ? answer.get() : calls::find_pointer(*answer, pointer);
  if (!at) {
    call.result = nullptr;
    return;
  }
  call.borrowed = at;
  call.keep = answer;
}

// Gives a batched field the item of the shared answer whose key matches its parent's.
void take_item(gql::FieldCall& call, const std::shared_ptr<const json::value>& answer, const BatchConfig& batch,
               const std::string& key) {
  const json::value* list = batch.select.empty() ? answer.get() : calls::find_pointer(*answer, batch.select);
  const json::value* item = list ? calls::find_item_by_key(*list, batch.key, key) : nullptr;
  if (!item) {
    call.result = nullptr;
    return;
  }
  call.borrowed = item;
  call.keep = answer;
}

// Gives each waiting field its part of a call's answer.
void give_answer(std::vector<Waiting>& waiting, const std::shared_ptr<const json::value>& answer) {
  for (Waiting& w : waiting) {
    if (w.batch_key) take_item(*w.call, answer, w.resolver->batch, *w.batch_key);
    else take_selected(*w.call, answer, w.resolver->select);
  }
}

// Fails each waiting field with why its call failed.
void give_failure(std::vector<Waiting>& waiting, const std::string& why) {
  for (Waiting& w : waiting) w.call->error = w.resolver->field + ": " + why;
}

// Gives the fields waiting for a call its answer, or its failure.
void deliver(PendingCall& p, const plugin::BackendResult& result) {
  calls::Answer answer = calls::read_answer(result);
  if (!answer.ok) {
    give_failure(p.waiting, answer.error);
    if (p.known) p.known->failure = std::move(answer.error);
    return;
  }
  auto body = std::make_shared<const json::value>(std::move(answer.body));
  give_answer(p.waiting, body);
  if (p.known) p.known->answer = std::move(body);
}

// Fails the fields of a call the request's max_calls leaves no room for.
void refuse_over_budget(PendingCall& p, int max_calls) {
  std::string why = "the query needs more than " + std::to_string(max_calls) + " calls (max_calls)";
  give_failure(p.waiting, why);
  if (p.known) p.known->failure = std::move(why);
}

// A `value` resolver's JSON with its templates filled: a string that is one reference takes
// the referenced value as it is (a number stays a number); other strings are rendered.
std::optional<json::value> fill_value(const json::value& pattern, const ResolverRoute& route,
                                      const calls::Template::Lookup& lookup,
                                      const std::function<std::optional<json::value>(const calls::Reference&)>& raw,
                                      std::string& missing) {
  switch (pattern.kind()) {
    case json::kind::string: {
      const auto parsed = std::find_if(route.value_templates.begin(), route.value_templates.end(),
                                       [&](const auto& entry) { return entry.first == &pattern.get_string(); });
      if (parsed == route.value_templates.end()) return pattern;
      const calls::Template* t = &parsed->second;
      if (t->references().size() == 1 && pattern.get_string() == t->references()[0].text()) {
        if (auto v = raw(t->references()[0])) return v;
        missing = t->references()[0].text();
        return std::nullopt;
      }
      auto rendered = t->render(lookup, calls::Template::Encoding::plain);
      if (rendered.missing) {
        missing = rendered.missing->text();
        return std::nullopt;
      }
      return json::value(rendered.text);
    }
    case json::kind::array: {
      json::array out;
      for (const auto& item : pattern.get_array()) {
        auto v = fill_value(item, route, lookup, raw, missing);
        if (!v) return std::nullopt;
        out.push_back(std::move(*v));
      }
      return json::value(std::move(out));
    }
    case json::kind::object: {
      json::object out;
      for (const auto& member : pattern.get_object()) {
        auto v = fill_value(member.value(), route, lookup, raw, missing);
        if (!v) return std::nullopt;
        out[member.key()] = std::move(*v);
      }
      return json::value(std::move(out));
    }
    default: return pattern;
  }
}

}  // namespace

void parse_value_templates(const json::value& value, std::vector<std::pair<const json::string*, calls::Template>>& out) {
  if (value.is_string()) {
    std::string error;
    if (auto t = calls::Template::parse(value.get_string(), error)) out.emplace_back(&value.get_string(), std::move(*t));
  } else if (value.is_array()) {
    for (const auto& item : value.get_array()) parse_value_templates(item, out);
  } else if (value.is_object()) {
    for (const auto& member : value.get_object()) parse_value_templates(member.value(), out);
  }
}

GatewayResolvers::GatewayResolvers(const GraphqlConfig& config, const ResolverTable& table, plugin::RequestContext& ctx,
                                   const ClientInputs& inputs, Clock::time_point deadline)
    : config_(config), table_(table), ctx_(ctx), inputs_(inputs), deadline_(deadline) {}

const ResolverRoute* find_resolver(const ResolverTable& table, const gql::Field& field) {
  const auto it = table.find(&field);
  return it == table.end() ? nullptr : &it->second;
}

const ResolverRoute* GatewayResolvers::route_of(const gql::FieldCall& call) const { return find_resolver(table_, *call.field); }

bool GatewayResolvers::resolves(const gql::Type&, const gql::Field& field) const {
  return find_resolver(table_, field) != nullptr;
}

std::optional<std::string_view> GatewayResolvers::runtime_type(const gql::Type& abstract, const json::value& value,
                                                               std::string& error) const {
  const AbstractTypeConfig* config = find_abstract_type(config_, abstract);
  if (config == nullptr) return gql::typename_property(value);
  const json::value* named = value.is_object() ? value.get_object().if_contains(config->property) : nullptr;
  if (named == nullptr || named->is_null()) {
    if (auto name = gql::typename_property(value)) return name;
    error = "Abstract type \"" + abstract.name + "\": the value has no \"" + config->property + "\" naming its type.";
    return std::nullopt;
  }
  if (config->types.empty()) {
    if (named->is_string()) return std::string_view(named->get_string());
  } else if (auto text = calls::scalar_text(*named)) {
    for (const auto& [property_value, type_name] : config->types) {
      if (property_value == *text) return std::string_view(type_name);
    }
  }
  error = "Abstract type \"" + abstract.name + "\": no type for \"" + config->property + "\": " + json::serialize(*named) + ".";
  return std::nullopt;
}

boost::asio::awaitable<void> GatewayResolvers::resolve(std::span<gql::FieldCall*> field_calls) {
  std::vector<PendingCall> pending;
  // Batched fields by resolver: the calls and their parents' keys, in order.
  std::map<const ResolverRoute*, std::vector<std::pair<gql::FieldCall*, std::string>>> batches;

  const auto client_value = [&](const calls::Reference& ref) -> std::optional<std::string> {
    const auto it = inputs_.values.find(ref.text());
    if (it == inputs_.values.end()) return std::nullopt;
    return it->second;
  };
  // Queues a call for a field, or answers the field at once from a call made earlier in the
  // request (or from its failure).
  const auto add = [&](plugin::CallGroup::Outgoing outgoing, std::chrono::milliseconds timeout, std::vector<Waiting> waiting) {
    // Only reads are shared: each mutation field's POST is its own side effect, made every time.
    if (outgoing.request.method != "GET") {
      pending.push_back({{}, std::move(outgoing), std::move(waiting), timeout});
      return;
    }
    auto [entry, inserted] = known_.try_emplace(call_identity(outgoing, inputs_.common_headers.size()));
    KnownCall& known = entry->second;
    if (inserted) {
      known.pending = pending.size();
      pending.push_back({&known, std::move(outgoing), std::move(waiting), timeout});
    } else if (known.answer) {
      give_answer(waiting, known.answer);
    } else if (known.failure) {
      give_failure(waiting, *known.failure);
    } else if (known.pending < pending.size() && pending[known.pending].known == &known) {  // another field's, this level
      auto& queued = pending[known.pending].waiting;
      queued.insert(queued.end(), std::make_move_iterator(waiting.begin()), std::make_move_iterator(waiting.end()));
    } else {  // left in flight by a level that did not finish (cut short)
      give_failure(waiting, "the call was cut short");
    }
  };
  const auto outgoing_for = [&](const ResolverRoute& route, bool batch) {
    const ResolverConfig& r = *route.config;
    plugin::CallGroup::Outgoing o;
    o.request.service = route.service;
    o.request.fixed = batch ? route.batch_fixed.get() : route.fixed.get();
    o.request.method = batch ? r.batch.method : r.method;
    o.request.content_type = "application/json";
    o.request.max_body = static_cast<std::size_t>(config_.max_body_size);
    o.header_lines = inputs_.common_headers;
    if (const auto h = inputs_.resolver_headers.find(&r); h != inputs_.resolver_headers.end()) o.header_lines += h->second;
    return o;
  };

  for (gql::FieldCall* c : field_calls) {
    const ResolverRoute* route = route_of(*c);
    const ResolverConfig& r = *route->config;
    std::optional<json::value> arguments;  // the arguments as a value, made when a template reads them
    const auto raw = [&](const calls::Reference& ref) -> std::optional<json::value> {
      if (ref.source == "args") {
        if (!arguments) arguments.emplace(c->arguments);
        return calls::value_at(*arguments, ref.name);
      }
      if (ref.source == "parent") return calls::value_at(*c->parent, ref.name);
      if (auto text = client_value(ref)) return json::value(*text);
      return std::nullopt;
    };
    const calls::Template::Lookup lookup = [&](const calls::Reference& ref) -> std::optional<std::string> {
      auto v = raw(ref);
      return v ? calls::scalar_text(*v) : std::nullopt;
    };
    if (!r.property.empty()) {
      auto v = calls::value_at(*c->parent, r.property);
      c->result = v ? std::move(*v) : json::value(nullptr);
      continue;
    }
    if (!r.calls()) {
      std::string missing;
      auto v = fill_value(r.value, *route, lookup, raw, missing);
      if (v) c->result = std::move(*v);
      else c->error = r.field + ": missing value for " + missing;
      continue;
    }
    if (r.batched()) {
      auto key = calls::value_at(*c->parent, r.batch.parent_field);
      auto text = key ? calls::scalar_text(*key) : std::nullopt;
      if (!text) {
        c->result = nullptr;  // a parent without a key has nothing to find
        continue;
      }
      batches[route].emplace_back(c, std::move(*text));
      continue;
    }
    const calls::Template& target = route->url_target ? *route->url_target : r.target;
    auto rendered = target.render(lookup, calls::Template::Encoding::url);
    if (rendered.missing) {
      c->error = r.field + ": missing value for " + rendered.missing->text();
      continue;
    }
    plugin::CallGroup::Outgoing o = outgoing_for(*route, false);
    o.target = std::move(rendered.text);
    if (r.body_template) {
      auto body = r.body_template->render(lookup, calls::Template::Encoding::json_string);
      if (body.missing) {
        c->error = r.field + ": missing value for " + body.missing->text();
        continue;
      }
      o.body = std::move(body.text);
    }
    add(std::move(o), timeout_of(r), {Waiting{c, &r, std::nullopt}});
  }

  for (auto& [route, members] : batches) {
    const ResolverConfig& r = *route->config;
    std::vector<std::string> keys;  // distinct, in order of first appearance
    for (const auto& [call, key] : members) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
    const json::value first_arguments(members.front().first->arguments);
    for (std::size_t from = 0; from < keys.size(); from += static_cast<std::size_t>(r.batch.max_size)) {
      const std::size_t to = std::min(keys.size(), from + static_cast<std::size_t>(r.batch.max_size));
      const calls::Template::Lookup lookup = [&](const calls::Reference& ref) -> std::optional<std::string> {
        if (ref.source == "parents") return calls::join_items(keys.begin() + static_cast<std::ptrdiff_t>(from),
                                                              keys.begin() + static_cast<std::ptrdiff_t>(to));
        if (ref.source == "args") {
          auto v = calls::value_at(first_arguments, ref.name);
          return v ? calls::scalar_text(*v) : std::nullopt;
        }
        return client_value(ref);
      };
      const calls::Template& target = route->batch_url_target ? *route->batch_url_target : r.batch.target;
      auto rendered = target.render(lookup, calls::Template::Encoding::url);
      std::string failure;
      if (rendered.missing) failure = r.field + ": missing value for " + rendered.missing->text();
      plugin::CallGroup::Outgoing o = outgoing_for(*route, true);
      o.target = std::move(rendered.text);
      if (failure.empty() && r.batch.body_template) {
        auto body = r.batch.body_template->render(lookup, calls::Template::Encoding::json_string);
        if (body.missing) failure = r.field + ": missing value for " + body.missing->text();
        o.body = std::move(body.text);
      }
      std::vector<Waiting> waiting;
      for (const auto& [call, key] : members) {
        const auto at = std::find(keys.begin(), keys.end(), key) - keys.begin();
        if (at < static_cast<std::ptrdiff_t>(from) || at >= static_cast<std::ptrdiff_t>(to)) continue;
        if (!failure.empty()) {
          call->error = failure;
          continue;
        }
        waiting.push_back({call, &r, key});
      }
      if (!failure.empty()) continue;
      add(std::move(o), timeout_of(r), std::move(waiting));
    }
  }

  if (pending.empty()) co_return;
  // The request's call budget: the calls past it fail their fields, nothing is sent.
  const std::size_t budget = static_cast<std::size_t>(config_.max_calls);
  const std::size_t allowed = std::min(pending.size(), budget > calls_made_ ? budget - calls_made_ : 0);
  for (std::size_t i = allowed; i < pending.size(); ++i) refuse_over_budget(pending[i], config_.max_calls);
  // At most max_parallel_calls in flight; the next starts as one completes (group indices
  // follow `pending`: calls start in its order).
  auto executor = co_await boost::asio::this_coro::executor;
  plugin::CallGroup group(ctx_, executor);
  const std::size_t parallel = static_cast<std::size_t>(config_.max_parallel_calls);
  std::size_t started = 0;
  const auto start_more = [&] {
    for (; started < allowed && group.running() < parallel; ++started) {
      PendingCall& p = pending[started];
      p.outgoing.request.deadline = std::min(deadline_, Clock::now() + p.timeout);
      group.start(std::move(p.outgoing));
      ++calls_made_;
    }
  };
  start_more();
  while (group.running() > 0) {
    const std::vector<std::size_t> completed = co_await group.next();
    for (std::size_t i : completed) deliver(pending[i], group.result(i));
    start_more();
  }
}

std::chrono::milliseconds GatewayResolvers::timeout_of(const ResolverConfig& r) const {
  return std::chrono::milliseconds(r.timeout > 0 ? r.timeout : config_.timeout);
}

}  // namespace portico::plugins::graphql
