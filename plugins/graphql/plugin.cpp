// The graphql plugin (issue 17; Portico's own, route scope, terminal): the route serves a
// GraphQL schema itself, resolving fields with calls to the services behind it. The
// configuration is config.hpp, the HTTP side of a request http_request.hpp, the limits
// limits.hpp, the calls resolvers.hpp, the engine src/graphql; README.md for users.
//
//   access:       hands over to access_async (the calls are I/O).
//   access_async: reads the GraphQL request (GET or POST), finds its document (cached by its
//                 text, or by its persisted hash), refuses what fails validation or a limit
//                 (nothing is sent upstream), executes it under the plugin's timeout.
#include <boost/json.hpp>

#include "crypto/digest.hpp"
#include "graphql/executor.hpp"
#include "graphql/parser.hpp"
#include "graphql/text.hpp"
#include "graphql/validation.hpp"
#include "plugin/calls/outgoing.hpp"
#include "plugin/calls/values.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"
#include "plugins/graphql/config.hpp"
#include "plugins/graphql/document_cache.hpp"
#include "plugins/graphql/http_request.hpp"
#include "plugins/graphql/limits.hpp"
#include "plugins/graphql/resolvers.hpp"

namespace portico::plugin {
namespace {

namespace gql = portico::graphql;
namespace gp = plugins::graphql;
namespace calls = plugin::calls;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

// A document as the plugin keeps it: parsed and validated once, whatever asks for it again.
struct PreparedDocument {
  gql::Document document;
  std::vector<gql::Error> errors;  // syntax or validation errors: the document is refused
  // Per operation (same index): its measure, when it has no variables to change it.
  std::vector<std::optional<gp::DocumentMeasure>> fixed_measures;
};

std::string errors_body(const std::vector<gql::Error>& errors) {
  json::array list;
  for (const gql::Error& e : errors) list.push_back(gql::to_json(e));
  return gql::to_json_text(json::object{{"errors", std::move(list)}});
}

std::string error_body(std::string_view message, std::string_view code = {}) {
  json::object error{{"message", message}};
  if (!code.empty()) error["extensions"] = json::object{{"code", code}};
  return gql::to_json_text(json::object{{"errors", json::array{std::move(error)}}});
}

// The largest query text kept parsed in the cache.
constexpr std::size_t kMaxCachedDocument = 8192;

class GraphqlInstance final : public Instance {
 public:
  GraphqlInstance(const gp::GraphqlConfig& config, BuildContext& build)
      : config_(config), documents_(1000), persisted_(1000) {
    limits_.max_depth = config.max_depth;
    limits_.max_aliases = config.max_aliases;
    limits_.max_cost = config.max_cost;
    limits_.list_size = config.list_size;
    limits_.introspection = config.introspection;
    // Object types' resolvers first: an interface's resolver serves the implementations
    // that have none of their own.
    for (const bool on_interfaces : {false, true}) {
      for (const auto& [field, resolver] : config.resolvers) {
        const std::size_t dot = field.find('.');
        const gql::Type* type = config.built->type(field.substr(0, dot));
        if ((type->kind == gql::TypeKind::interface) != on_interfaces) continue;
        const gp::ResolverRoute route = make_route(resolver, build);
        // (the interface's own field too: the cost of a selection on the interface reads it)
        table_.emplace(type->field(field.substr(dot + 1)), route);
        for (const gql::Type* object : config.built->possible_types(*type)) {
          if (const gql::Field* def = object->field(field.substr(dot + 1))) table_.emplace(def, route);
        }
      }
    }
    limits_.field_cost = [this](const gql::Field& field) -> std::optional<int> {
      const gp::ResolverRoute* route = gp::find_resolver(table_, field);
      if (!route || !route->config->calls()) return std::nullopt;
      return route->config->cost;
    };
    // The client sources the templates read, gathered once per request before the body.
    for (const auto& [field, resolver] : config.resolvers) {
      const calls::Template* templates[] = {&resolver.target, resolver.body_template ? &*resolver.body_template : nullptr,
                                            &resolver.batch.target,
                                            resolver.batch.body_template ? &*resolver.batch.body_template : nullptr};
      for (const calls::Template* t : templates) {
        if (!t) continue;
        for (const calls::Reference& ref : t->references()) {
          if (calls::is_client_source(ref.source)) client_references_.push_back(ref);
        }
      }
    }
  }

  // Where a resolver's calls go.
  static gp::ResolverRoute make_route(const gp::ResolverConfig& resolver, BuildContext& build) {
    gp::ResolverRoute route;
    route.config = &resolver;
    if (!resolver.value.is_null()) gp::parse_value_templates(resolver.value, route.value_templates);
    if (!resolver.service.empty()) calls::find_service(build.config, resolver.service, route.service);  // checked at load
    if (!resolver.url.empty()) url_destination(resolver.url, build, route.url_target, route.fixed);
    if (!resolver.batch.url.empty()) url_destination(resolver.batch.url, build, route.batch_url_target, route.batch_fixed);
    return route;
  }

  // A `url` (checked at load): its path-and-query template and its fixed destination.
  static void url_destination(const std::string& text, BuildContext& build, std::optional<calls::Template>& target,
                              std::shared_ptr<FixedDestination>& fixed) {
    const calls::SplitUrl url = calls::split_url(text);
    std::string error;
    target = calls::Template::parse(url.rest, error);
    fixed = calls::fixed_destination(url, build);
  }

  Access access(RequestContext&) const override { return Access::suspend; }

  boost::asio::awaitable<Access> access_async(RequestContext& ctx) const override {
    if (ctx.backend_client() == nullptr) {
      ctx.reply(500, "the graphql plugin cannot make calls here");
      co_return Access::replied;
    }
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(config_.timeout);
    const std::string_view method = ctx.request().method;
    if (method != "GET" && method != "POST") {
      ctx.reply_json(405, error_body("GraphQL is served on GET and POST."), "Allow: GET, POST\r\n");
      co_return Access::replied;
    }
    gp::ClientInputs inputs = gather_inputs(ctx);  // before the body moves the request head
    gp::ParsedRequest parsed;
    if (method == "GET") {
      parsed = gp::parse_get(ctx.request().query);
    } else {
      const std::string content_type(ctx.request().find("content-type"));
      const bool read = co_await ctx.read_request_body();
      if (!read) {
        ctx.reply(ctx.body_error_status(), ctx.body_error());
        co_return Access::replied;
      }
      parsed = gp::parse_post(content_type, ctx.request_body());
    }
    if (!parsed.request) {
      ctx.reply_json(parsed.status, error_body(parsed.error));
      co_return Access::replied;
    }
    gp::GraphqlRequest& request = *parsed.request;
    std::string refusal;
    if (!resolve_persisted(request, refusal)) {
      ctx.reply_json(refusal.find("PERSISTED_QUERY_NOT_FOUND") != std::string::npos ? 200 : 400, refusal);
      co_return Access::replied;
    }
    if (request.query->size() > static_cast<std::size_t>(config_.max_document_size)) {
      ctx.reply_json(413, error_body("The query is " + std::to_string(request.query->size()) + " bytes, more than the maximum of " +
                                         std::to_string(config_.max_document_size) + ".",
                                     "QUERY_TOO_LARGE"));
      co_return Access::replied;
    }
    const std::shared_ptr<const PreparedDocument> prepared = prepare(*request.query);
    if (!prepared->errors.empty()) {
      ctx.reply_json(400, errors_body(prepared->errors));
      co_return Access::replied;
    }
    std::vector<gql::Error> selection_errors;
    std::optional<std::string_view> operation_name;
    if (request.operation_name) operation_name = *request.operation_name;
    const gql::OperationDefinition* operation = gql::select_operation(prepared->document, operation_name, selection_errors);
    if (!operation) {
      ctx.reply_json(400, errors_body(selection_errors));
      co_return Access::replied;
    }
    if (method == "GET" && operation->type != gql::OperationType::query) {
      ctx.reply_json(405, error_body("Only queries are served on GET: send a mutation with POST."), "Allow: POST\r\n");
      co_return Access::replied;
    }
    // The limits measure what will run: the variables as the executor will see them.
    std::vector<gql::Error> variable_errors;
    const json::object coerced =
        gql::coerce_variables(*config_.built, prepared->document, *operation, request.variables, variable_errors);
    if (!variable_errors.empty()) {
      ctx.reply_json(400, errors_body(variable_errors));
      co_return Access::replied;
    }
    const auto& fixed = prepared->fixed_measures[static_cast<std::size_t>(operation - prepared->document.operations.data())];
    const gp::DocumentMeasure measured =
        fixed ? *fixed : gp::measure(*config_.built, prepared->document, *operation, coerced, limits_);
    if (auto limit = gp::refusal(measured, limits_)) {
      ctx.reply_json(400, error_body(*limit, "QUERY_REFUSED"));
      co_return Access::replied;
    }
    gp::GatewayResolvers resolvers(config_, table_, ctx, inputs, deadline);
    gql::ExecutionRequest execution;
    execution.schema = config_.built.get();
    execution.document = &prepared->document;
    execution.operation_name = operation_name;
    execution.coerced_variables = &coerced;
    execution.resolvers = &resolvers;
    const gql::ExecutionResult result = co_await gql::execute(execution);
    // Variables that do not fit their types are the request's fault (nothing was executed).
    const int status = result.data ? 200 : 400;
    ctx.reply_json(status, result.to_json_text());
    co_return Access::replied;
  }

 private:
  gp::ClientInputs gather_inputs(const RequestContext& ctx) const {
    gp::ClientInputs inputs;
    std::optional<json::value> claims;
    for (const calls::Reference& ref : client_references_) {
      if (inputs.values.count(ref.text())) continue;
      if (auto v = calls::client_value(ctx, ref, claims)) inputs.values.emplace(ref.text(), std::move(*v));
    }
    inputs.common_headers = calls::forwarded_headers(ctx, config_.forward_headers);
    for (const auto& [field, resolver] : config_.resolvers) {
      if (!resolver.forward_headers.empty()) inputs.resolver_headers[&resolver] = calls::copied_headers(ctx, resolver.forward_headers);
    }
    return inputs;
  }

  // Apollo's automatic persisted queries: a hash alone finds a query sent before; a query with
  // its hash is checked and remembered. False with `refusal` (a response body) set otherwise.
  bool resolve_persisted(gp::GraphqlRequest& request, std::string& refusal) const {
    if (!request.persisted_hash) return true;
    if (!config_.persisted_queries) {
      if (request.query) return true;  // the hash is ignored
      refusal = error_body("PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED");
      return false;
    }
    if (!request.query) {
      const auto known = persisted_.find(*request.persisted_hash);
      if (!known) {
        refusal = error_body("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND");
        return false;
      }
      request.query = *known;
      return true;
    }
    if (crypto::sha256_hex(*request.query) != *request.persisted_hash) {
      refusal = error_body("provided sha does not match query", "INTERNAL_SERVER_ERROR");
      return false;
    }
    persisted_.insert(*request.persisted_hash, std::make_shared<const std::string>(*request.query));
    return true;
  }

  // The document of a query text: from the cache, or parsed and validated now.
  std::shared_ptr<const PreparedDocument> prepare(const std::string& query) const {
    if (auto known = documents_.find(query)) return known;
    auto prepared = std::make_shared<PreparedDocument>();
    try {
      gql::ParseOptions options;
      options.max_tokens = static_cast<std::uint32_t>(config_.max_tokens);
      prepared->document = gql::parse(query, options);
      prepared->errors = gql::validate(*config_.built, prepared->document);
      prepared->fixed_measures.resize(prepared->document.operations.size());
      if (prepared->errors.empty()) {
        static const json::object kNoVariables;
        for (std::size_t i = 0; i < prepared->document.operations.size(); ++i) {
          const gql::OperationDefinition& operation = prepared->document.operations[i];
          if (operation.variables.empty()) {
            prepared->fixed_measures[i] = gp::measure(*config_.built, prepared->document, operation, kNoVariables, limits_);
          }
        }
      }
    } catch (const gql::SyntaxError& e) {
      prepared->document = gql::Document{};
      prepared->document.source = std::make_shared<const std::string>(query);
      prepared->errors = {gql::document_error(prepared->document, "Syntax Error: " + std::string(e.what()), {e.offset()})};
    }
    // Typical documents are kept; a large one is read again each time, so that the cache holds
    // at most 1000 x kMaxCachedDocument bytes of text whatever clients send.
    if (query.size() <= kMaxCachedDocument) documents_.insert(query, prepared);
    return prepared;
  }

  const gp::GraphqlConfig& config_;
  gp::ResolverTable table_;
  gp::DocumentLimits limits_;
  std::vector<calls::Reference> client_references_;
  mutable gp::SharedLru<PreparedDocument> documents_;
  mutable gp::SharedLru<std::string> persisted_;
};

// Resolvers naming services that are not in the configuration.
void check_services(const ParsedConfig& parsed, const config::DeclarativeConfig& config, const CheckError& error) {
  const auto& c = static_cast<const gp::GraphqlConfig&>(parsed);
  for (const auto& [field, resolver] : c.resolvers) {
    std::size_t index = 0;
    if (!resolver.service.empty() && calls::find_service(config, resolver.service, index) == nullptr) {
      error({}, "resolvers." + field + ".service", "no service named '" + resolver.service + "'");
    }
  }
}

void url_hosts(const ParsedConfig& parsed, std::vector<std::string>& hosts) {
  for (const auto& [field, resolver] : static_cast<const gp::GraphqlConfig&>(parsed).resolvers) {
    if (!resolver.url.empty()) hosts.push_back(calls::split_url(resolver.url).host);
    if (!resolver.batch.url.empty()) hosts.push_back(calls::split_url(resolver.batch.url).host);
  }
}

}  // namespace

const Schema& graphql_schema() {
  static const Schema schema{
      .name = "graphql",
      // Terminal, as the aggregate plugin: after authentication, ACLs, rate limits and
      // circuit breakers, whose answers and identity come first.
      .priority = 3,
      .phases = kAccess,
      .scopes = kRoute,
      .config = &plugins::graphql::graphql_config_schema(),
      .check = check_services,
      .instantiate = instantiate_as<GraphqlInstance, gp::GraphqlConfig>,
      .hosts = url_hosts,
  };
  return schema;
}

}  // namespace portico::plugin
