#include "plugins/graphql/config.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include "plugin/calls/outgoing.hpp"
#include "plugin/calls/pointer.hpp"
#include "plugin/calls/values.hpp"

namespace portico::plugins::graphql {
namespace {

namespace gql = portico::graphql;
namespace calls = plugin::calls;
using schema::Errors;

// Sources a resolver's templates may read, beyond the client's (query, path, header, jwt,
// consumer): the field's arguments and its parent object; a batch reads its parents.
bool known_source(std::string_view source, bool batch) {
  return calls::is_client_source(source) || source == "args" || (batch ? source == "parents" : source == "parent");
}

// "type Query {...}" is SDL; anything else names a file holding it.
bool looks_like_sdl(const std::string& text) { return text.find_first_of("{\n") != std::string::npos; }

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read the schema file '" + path + "'";
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void parse_template(const std::string& text, const std::string& field, bool batch, calls::Template& out,
                    std::optional<calls::Template>* optional_out, Errors& errors) {
  std::string error;
  auto t = calls::Template::parse(text, error);
  if (!t) {
    errors.push_back({field, error});
    return;
  }
  for (const calls::Reference& ref : t->references()) {
    if (!known_source(ref.source, batch)) {
      errors.push_back({field, "unknown template source '" + ref.source + "' in " + ref.text() +
                                   (batch ? " (parents, args, query, path, header, jwt, consumer)"
                                          : " (args, parent, query, path, header, jwt, consumer)")});
    } else if (ref.source == "consumer" && ref.name != "id" && ref.name != "username") {
      errors.push_back({field, ref.text() + ": a consumer has only id and username"});
    }
  }
  if (optional_out) *optional_out = std::move(*t);
  else out = std::move(*t);
}

// Checks the templates in a `value` resolver's JSON (its strings).
void check_value_templates(const boost::json::value& v, const std::string& field, Errors& errors) {
  if (v.is_string()) {
    calls::Template ignored;
    std::optional<calls::Template> parsed;
    parse_template(std::string(v.get_string()), field, false, ignored, &parsed, errors);
  } else if (v.is_array()) {
    for (const auto& item : v.get_array()) check_value_templates(item, field, errors);
  } else if (v.is_object()) {
    for (const auto& member : v.get_object()) check_value_templates(member.value(), field, errors);
  }
}

void check_resolver(ResolverConfig& r, const std::string& at, const gql::Schema& schema, Errors& errors) {
  const std::size_t dot = r.field.find('.');
  const gql::Type* type = dot == std::string::npos ? nullptr : schema.type(r.field.substr(0, dot));
  if (!type || (type->kind != gql::TypeKind::object && type->kind != gql::TypeKind::interface) ||
      !type->field(r.field.substr(dot + 1))) {
    errors.push_back({at, "'" + r.field + "' is not a field of the schema (Type.field)"});
    return;
  }
  const int ways = (r.calls() ? 1 : 0) + (!r.value.is_null() ? 1 : 0) + (!r.property.empty() ? 1 : 0);
  if (ways != 1) {
    errors.push_back({at, "a resolver has one of: service (+ path) or url, value, property"});
    return;
  }
  if (!r.service.empty() && !r.url.empty()) errors.push_back({at, "url and service are exclusive"});
  if (!r.url.empty()) {
    if (!r.path.empty()) errors.push_back({at + ".path", "path goes with service (a url has its own)"});
    if (std::string e = calls::check_url(r.url); !e.empty()) errors.push_back({at + ".url", e});
  }
  if (!r.body.empty() && r.method != "POST" && r.method != "PUT" && r.method != "PATCH") {
    errors.push_back({at + ".body", "a body goes with POST, PUT or PATCH"});
  }
  if (!r.select.empty() && !calls::valid_pointer(r.select)) errors.push_back({at + ".select", "not a JSON pointer (\"/data/items\")"});
  calls::check_forward_headers(r.forward_headers, at + ".forward_headers", errors);
  if (!r.value.is_null()) check_value_templates(r.value, at + ".value", errors);
  if (!r.calls()) return;
  parse_template(!r.url.empty() ? r.url : (r.path.empty() ? "/" : r.path), at + (r.url.empty() ? ".path" : ".url"), false,
                 r.target, nullptr, errors);
  if (!r.body.empty()) parse_template(r.body, at + ".body", false, r.target, &r.body_template, errors);
  if (!r.batched()) return;
  BatchConfig& b = r.batch;
  if (!b.path.empty() && !b.url.empty()) errors.push_back({at + ".batch", "batch.url and batch.path are exclusive"});
  if (!b.path.empty() && r.service.empty()) errors.push_back({at + ".batch.path", "batch.path goes with service"});
  if (!b.url.empty()) {
    if (std::string e = calls::check_url(b.url); !e.empty()) errors.push_back({at + ".batch.url", e});
  }
  if (b.key.empty()) errors.push_back({at + ".batch.key", "a batch needs the key that matches an answer's item to its parent"});
  if (!b.select.empty() && !calls::valid_pointer(b.select)) errors.push_back({at + ".batch.select", "not a JSON pointer"});
  parse_template(!b.url.empty() ? b.url : b.path, at + ".batch." + (b.url.empty() ? "path" : "url"), true, b.target, nullptr, errors);
  if (!b.body.empty()) parse_template(b.body, at + ".batch.body", true, b.target, &b.body_template, errors);
  std::set<std::string> parent_fields;
  for (const calls::Reference& ref : b.target.references()) {
    if (ref.source == "parents") parent_fields.insert(ref.name);
  }
  if (b.body_template) {
    for (const calls::Reference& ref : b.body_template->references()) {
      if (ref.source == "parents") parent_fields.insert(ref.name);
    }
  }
  if (parent_fields.size() != 1) {
    errors.push_back({at + ".batch", "a batch names its parents' key once, as {parents.X|join:,}"});
  } else {
    b.parent_field = *parent_fields.begin();
  }
}

void check_abstract_type(const std::string& name, AbstractTypeConfig& a, const std::string& at, const gql::Schema& schema,
                         Errors& errors) {
  const gql::Type* type = schema.type(name);
  if (!type || !type->is_abstract()) {
    errors.push_back({at, "'" + name + "' is not an interface or union of the schema"});
    return;
  }
  a.abstract = type;
  for (const auto& [value, object_name] : a.types) {
    const gql::Type* object = schema.type(object_name);
    if (!object || object->kind != gql::TypeKind::object || !schema.is_sub_type(*type, *object)) {
      errors.push_back({at + ".types." + value, "'" + object_name + "' is not an object type of '" + name + "'"});
    }
  }
}

void finish(GraphqlConfig& c, Errors& errors) {
  if (c.schema.empty()) {
    errors.push_back({"schema", "required field missing"});
    return;
  }
  std::string sdl = c.schema;
  if (!looks_like_sdl(c.schema)) {
    std::string error;
    auto text = read_file(c.schema, error);
    if (!text) {
      errors.push_back({"schema", error});
      return;
    }
    sdl = std::move(*text);
  }
  std::vector<gql::Error> schema_errors;
  c.built = gql::Schema::build(sdl, schema_errors);
  for (const gql::Error& e : schema_errors) {
    const std::string where =
        e.locations.empty() ? "" : std::to_string(e.locations[0].line) + ":" + std::to_string(e.locations[0].column) + ": ";
    errors.push_back({"schema", where + e.message});
  }
  if (!c.built) return;
  calls::check_forward_headers(c.forward_headers, "forward_headers", errors);
  std::set<std::string> seen;
  for (auto& [field, resolver] : c.resolvers) {
    resolver.field = field;
    check_resolver(resolver, "resolvers." + field, *c.built, errors);
  }
  for (auto& [name, abstract] : c.abstract_types) {
    check_abstract_type(name, abstract, "abstract_types." + name, *c.built, errors);
  }
}

}  // namespace

const AbstractTypeConfig* find_abstract_type(const GraphqlConfig& config, const gql::Type& abstract) {
  for (const auto& [name, a] : config.abstract_types) {
    if (a.abstract == &abstract) return &a;
  }
  return nullptr;
}

const plugin::ConfigSchema& graphql_config_schema() {
  using C = GraphqlConfig;
  using R = ResolverConfig;
  using B = BatchConfig;
  static const schema::Record<B> batch = [] {
    schema::Record<B> r;
    r.field("path", &B::path, {.nullable = true})
        .field("url", &B::url, {.nullable = true})
        .field("method", &B::method, {.one_of = {"GET", "POST"}})
        .field("body", &B::body, {.nullable = true})
        .field("select", &B::select, {.nullable = true})
        .field("key", &B::key, {.nullable = true})
        .field("max_size", &B::max_size, {.min = 1, .max = 10000});
    return r;
  }();
  static const schema::Record<R> resolver = [] {
    schema::Record<R> r;
    r.field("service", &R::service, {.nullable = true})
        .field("path", &R::path, {.nullable = true})
        .field("url", &R::url, {.nullable = true})
        .field("method", &R::method, {.one_of = {"GET", "POST", "PUT", "PATCH", "DELETE"}})
        .field("body", &R::body, {.nullable = true})
        .field("select", &R::select, {.nullable = true})
        .field("timeout", &R::timeout, {.min = 1, .max = 600000, .nullable = true})
        .field("forward_headers", &R::forward_headers)
        .field("cost", &R::cost, {.min = 0, .max = 1000000})
        .record<B>("batch", [](R& r) -> B& { return r.batch; }, batch)
        .field("value", &R::value, {.nullable = true})
        .field("property", &R::property, {.nullable = true});
    return r;
  }();
  static const schema::Record<AbstractTypeConfig> abstract_type = [] {
    schema::Record<AbstractTypeConfig> r;
    r.field("property", &AbstractTypeConfig::property, {.required = true, .len_min = 1})
        .field("types", &AbstractTypeConfig::types);
    return r;
  }();
  static const plugin::ConfigSchemaOf<C> schema([] {
    schema::Record<C> r;
    r.field("schema", &C::schema, {.required = true, .len_min = 1})
        .record_map<R>("resolvers", [](C& c) -> std::vector<std::pair<std::string, R>>& { return c.resolvers; }, resolver)
        .record_map<AbstractTypeConfig>(
            "abstract_types",
            [](C& c) -> std::vector<std::pair<std::string, AbstractTypeConfig>>& { return c.abstract_types; },
            abstract_type)
        .field("timeout", &C::timeout, {.min = 1, .max = 600000})
        .field("max_body_size", &C::max_body_size, {.min = 1, .max = 1073741824})
        .field("forward_headers", &C::forward_headers)
        .field("max_calls", &C::max_calls, {.min = 1, .max = 1000000})
        .field("max_parallel_calls", &C::max_parallel_calls, {.min = 1, .max = 10000})
        .field("max_document_size", &C::max_document_size, {.min = 1, .max = 16777216})
        .field("max_tokens", &C::max_tokens, {.min = 1, .max = 1000000})
        .field("max_depth", &C::max_depth, {.min = 1, .max = 256})
        .field("max_aliases", &C::max_aliases, {.min = 0, .max = 100000})
        .field("max_cost", &C::max_cost, {.min = 1, .max = 1000000000})
        .field("list_size", &C::list_size, {.min = 1, .max = 100000})
        .field("introspection", &C::introspection)
        .field("persisted_queries", &C::persisted_queries);
    r.finish([](C& c, const boost::json::object&, Errors& errors) { finish(c, errors); });
    return r;
  }());
  return schema;
}

}  // namespace portico::plugins::graphql
