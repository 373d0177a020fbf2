// The graphql plugin's resolvers (issue 17): the fields configured with a call are fetched
// from services, the executor handing over one level at a time. All the calls of a level run
// at once on the worker's loop; the parents of a batched field share one call (or one per
// batch.max_size parents); identical calls in one request are made once, whichever level asks.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "graphql/executor.hpp"
#include "plugin/backend_client.hpp"
#include "plugins/graphql/config.hpp"

namespace portico::plugin {
class RequestContext;
}

namespace portico::plugins::graphql {

// Where a resolver's calls go, derived once per snapshot.
struct ResolverRoute {
  const ResolverConfig* config = nullptr;
  std::size_t service = plugin::BackendRequest::kNoService;
  std::shared_ptr<plugin::FixedDestination> fixed;        // url resolvers
  std::shared_ptr<plugin::FixedDestination> batch_fixed;  // url batches
  std::optional<plugin::calls::Template> url_target;      // a url resolver's path and query
  std::optional<plugin::calls::Template> batch_url_target;
  // A `value` resolver's strings, parsed once: each string of config->value and its template
  // (strings that do not parse are written as they are).
  std::vector<std::pair<const boost::json::string*, plugin::calls::Template>> value_templates;
};

// Parses the templates in the strings of a `value` resolver's JSON into `out`.
void parse_value_templates(const boost::json::value& value,
                           std::vector<std::pair<const boost::json::string*, plugin::calls::Template>>& out);

// Resolvers by the field they resolve: an object type's Field (a resolver configured on an
// interface's field is entered for each implementing object type without its own).
using ResolverTable = std::unordered_map<const portico::graphql::Field*, ResolverRoute>;

// An object type's field's resolver, or nullptr.
const ResolverRoute* find_resolver(const ResolverTable& table, const portico::graphql::Field& field);

// What the client's request gives templates, gathered before its body is read: the values of
// every client source the resolvers' templates name ("{header.X-Lang}" -> "fr"), and the
// headers every call carries (identity, X-Forwarded-*, forward_headers).
struct ClientInputs {
  std::map<std::string, std::string, std::less<>> values;
  std::string common_headers;
  std::map<const ResolverConfig*, std::string> resolver_headers;  // each resolver's forward_headers
};

// A GET call of one request: answered (fields borrow their part of the answer), failed, or
// in flight in the level being resolved.
struct KnownCall {
  std::shared_ptr<const boost::json::value> answer;
  std::optional<std::string> failure;
  std::size_t pending = 0;  // while in flight: its index among the level's calls
};

class GatewayResolvers final : public portico::graphql::Resolvers {
 public:
  GatewayResolvers(const GraphqlConfig& config, const ResolverTable& table, plugin::RequestContext& ctx,
                   const ClientInputs& inputs, std::chrono::steady_clock::time_point deadline);

  bool resolves(const portico::graphql::Type& parent, const portico::graphql::Field& field) const override;
  boost::asio::awaitable<void> resolve(std::span<portico::graphql::FieldCall*> calls) override;
  // By the abstract type's `abstract_types` entry when it has one, else by "__typename".
  std::optional<std::string_view> runtime_type(const portico::graphql::Type& abstract, const boost::json::value& value,
                                               std::string& error) const override;

  // Calls made so far (a figure for tests, logs and benchmarks).
  std::size_t calls_made() const { return calls_made_; }

 private:
  const ResolverRoute* route_of(const portico::graphql::FieldCall& call) const;
  // A resolver's call timeout (its own, else the plugin's).
  std::chrono::milliseconds timeout_of(const ResolverConfig& resolver) const;

  const GraphqlConfig& config_;
  const ResolverTable& table_;
  plugin::RequestContext& ctx_;
  const ClientInputs& inputs_;
  std::chrono::steady_clock::time_point deadline_;
  // The GET calls of this request by identity.
  std::unordered_map<std::string, KnownCall> known_;
  std::size_t calls_made_ = 0;
};

}  // namespace portico::plugins::graphql
