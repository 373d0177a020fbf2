// What a document asks of the services behind the gateway, measured before anything is sent
// (issue 17): its depth, its aliases, its cost, and whether it introspects. The graphql
// plugin refuses a document past its limits with a GraphQL error naming the limit.
#pragma once

#include <boost/json/object.hpp>

#include <functional>
#include <optional>
#include <string>

#include "graphql/ast.hpp"
#include "graphql/schema.hpp"

namespace portico::plugins::graphql {

struct DocumentLimits {
  int max_depth = 0;    // 0: no limit
  int max_aliases = 0;
  int max_cost = 0;
  int list_size = 10;   // a list field's length when no first / last / limit argument says it
  bool introspection = true;
  // The cost of a field (its resolver's `cost`); fields without one cost 1 when they hold an
  // object or a list of them, 0 when they hold a scalar.
  std::function<std::optional<int>(const portico::graphql::Field& field)> field_cost;
};

struct DocumentMeasure {
  int depth = 0;       // the deepest field nesting (a root field is depth 1)
  int aliases = 0;
  double cost = 0;
  bool introspects = false;  // selects __schema or __type
};

// Measures an operation of a valid document, fragments spread where they are used.
// `variables` (coerced: defaults applied) gives list sizes written as variables (first: $n).
DocumentMeasure measure(const portico::graphql::Schema& schema, const portico::graphql::Document& document,
                        const portico::graphql::OperationDefinition& operation, const boost::json::object& variables,
                        const DocumentLimits& limits);

// The message refusing a document past a limit, or nullopt when it is within them.
std::optional<std::string> refusal(const DocumentMeasure& measured, const DocumentLimits& limits);

}  // namespace portico::plugins::graphql
