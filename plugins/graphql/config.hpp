// The graphql plugin's configuration (issue 17): the schema (SDL, or a file holding it), the
// resolvers that fetch fields from services, and the limits hostile documents meet. Read
// through the one schema layer and checked whole when the configuration is loaded: the SDL is
// built and validated, every resolver names a field of the schema, its templates parse and
// read only sources it has.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "graphql/schema.hpp"
#include "plugin/calls/template.hpp"
#include "plugin/config_schema.hpp"

namespace portico::plugins::graphql {

// One call for many parents (the DataLoader pattern at the gateway): `path` (or `url`) holds
// `{parents.X|join:,}`, the parents' X values; each item of the answer (after `select`) is
// matched back to the parent whose X equals the item's `key` field.
struct BatchConfig {
  std::string path;
  std::string url;
  std::string method = "GET";
  std::string body;
  std::string select;
  std::string key;
  int max_size = 100;  // parents per call; more make several calls

  // Derived.
  plugin::calls::Template target;
  std::optional<plugin::calls::Template> body_template;
  std::string parent_field;  // X of {parents.X}
};

struct ResolverConfig {
  // A call...
  std::string service;
  std::string path;
  std::string url;
  std::string method = "GET";
  std::string body;
  std::string select;  // a JSON pointer into the answer
  int timeout = -1;    // ms, from when the call starts; -1: the plugin's timeout
  std::vector<std::string> forward_headers;
  int cost = 1;  // what the field adds to a document's cost (times its lists' lengths)
  BatchConfig batch;
  // ...or no call: a value built from templates ({"user_id": "{args.id}"}), or a property of
  // the parent under another name ("created_at" for createdAt).
  boost::json::value value;
  std::string property;

  // Derived.
  std::string field;  // "Type.field", the key it was configured under
  plugin::calls::Template target;
  std::optional<plugin::calls::Template> body_template;
  bool batched() const { return !batch.path.empty() || !batch.url.empty(); }
  bool calls() const { return !service.empty() || !url.empty(); }
};

// How the values of an interface or union name their object type when the services' JSON has
// no "__typename": a property of the value holding the type's name, or a value that `types`
// maps to it ({"kind": "user"} -> User).
struct AbstractTypeConfig {
  std::string property;
  std::vector<std::pair<std::string, std::string>> types;  // the property's value -> object type

  // Derived.
  const portico::graphql::Type* abstract = nullptr;
};

struct GraphqlConfig : plugin::ParsedConfig {
  std::string schema;  // SDL, or the path of a file holding it
  std::vector<std::pair<std::string, ResolverConfig>> resolvers;
  std::vector<std::pair<std::string, AbstractTypeConfig>> abstract_types;  // by interface or union
  int timeout = 10000;  // ms for the whole request
  int max_body_size = 1024 * 1024;  // bytes of each service answer
  std::vector<std::string> forward_headers;  // client headers sent with every call
  // What one request may ask of the services, whatever the lists it meets hold at run time
  // (the cost is an estimate made before): calls in all, and calls in flight at once.
  int max_calls = 1000;
  int max_parallel_calls = 64;
  // Limits against hostile documents, each refused before anything is sent upstream.
  int max_document_size = 65536;  // bytes of the query text
  int max_tokens = 5000;
  int max_depth = 15;
  int max_aliases = 30;
  int max_cost = 10000;
  int list_size = 10;  // a list field's assumed length in the cost, without a first/last/limit argument
  bool introspection = true;
  bool persisted_queries = true;  // Apollo's automatic persisted queries (sha256 hashes)

  // Derived.
  std::shared_ptr<const portico::graphql::Schema> built;
};

// The configuration of an interface or union, or nullptr (its values use "__typename").
const AbstractTypeConfig* find_abstract_type(const GraphqlConfig& config, const portico::graphql::Type& abstract);

const plugin::ConfigSchema& graphql_config_schema();

}  // namespace portico::plugins::graphql
