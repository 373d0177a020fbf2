// Execution of a validated GraphQL operation (issue 17), as the specification's Execution
// section defines it, level by level so that the resolvers of one level run at once.
//
// The executor walks the selection breadth first: every field of every object at one depth
// that has a resolver of its own is handed to Resolvers::resolve in one batch (the gateway's
// resolvers then call their services in parallel, and make one call for many parents where
// the configuration batches them); fields without one read the parent's property of the
// same name. Values are completed as the specification says (lists, non-null, leaf
// serialization, abstract types by `__typename` or Resolvers::runtime_type). Errors and null propagation come out as
// graphql-js's depth-first execution gives them: the errors are ordered as a depth-first walk
// would meet them, and an error inside a subtree that an earlier error already replaced by
// null is not reported, so the answer does not depend on the order in which services answered.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "graphql/ast.hpp"
#include "graphql/error.hpp"
#include "graphql/schema.hpp"

namespace portico::graphql {

// One field to resolve, handed to Resolvers::resolve with the others of its level.
struct FieldCall {
  const Type* parent_type = nullptr;
  const Field* field = nullptr;
  const Selection* node = nullptr;           // the first of the field's nodes (its arguments)
  const boost::json::value* parent = nullptr;  // the parent object's value
  boost::json::object arguments;             // coerced, defaults applied
  // Set by the resolver: the value, or an error message (the field is then null). A resolver
  // may instead point `borrowed` at a value it keeps alive in `keep` (an answer shared by
  // several fields is then not copied for each).
  boost::json::value result;
  const boost::json::value* borrowed = nullptr;
  std::shared_ptr<const void> keep;
  std::optional<std::string> error;
  const boost::json::value& value() const { return borrowed ? *borrowed : result; }
};

class Resolvers {
 public:
  virtual ~Resolvers() = default;
  // Whether `field` of `parent` has its own resolver; the others read the parent's property.
  virtual bool resolves(const Type& parent, const Field& field) const = 0;
  // Resolves one level's calls (all of them at once when it can); sets each call's result or
  // error. Must not throw.
  virtual boost::asio::awaitable<void> resolve(std::span<FieldCall*> calls) = 0;
  // The object type an interface or union value is of: its name, or nullopt with `error`
  // saying why it has none (an empty error: graphql-js's message). The default reads the
  // value's "__typename" property.
  virtual std::optional<std::string_view> runtime_type(const Type& abstract, const boost::json::value& value,
                                                       std::string& error) const;
};

// A value's "__typename" property, when it is a string.
std::optional<std::string_view> typename_property(const boost::json::value& value);

struct ExecutionResult {
  std::optional<boost::json::value> data;  // absent when execution did not start
  std::vector<Error> errors;
  // {"errors": [...], "data": ...}, errors first as graphql-js writes them.
  boost::json::object to_json() const;
  // The same, written as JSON text (without copying the data into an object first).
  std::string to_json_text() const;
};

struct ExecutionRequest {
  const Schema* schema = nullptr;
  const Document* document = nullptr;  // parsed and validated
  std::optional<std::string_view> operation_name;  // none: the document's only operation
  const boost::json::object* variables = nullptr;
  // Set instead of `variables` when the caller coerced them already (coerce_variables, with
  // no errors): execution does not coerce them again.
  const boost::json::object* coerced_variables = nullptr;
  const boost::json::value* root_value = nullptr;  // the root object's value (null: none)
  Resolvers* resolvers = nullptr;                   // nullptr: every field reads its parent's property
};

// The operation a request names (graphql-js getOperation), or an error to answer with.
const OperationDefinition* select_operation(const Document& document, std::optional<std::string_view> name,
                                            std::vector<Error>& errors);

// Coerces the operation's variables (graphql-js coerceVariableValues); problems are errors.
boost::json::object coerce_variables(const Schema& schema, const Document& document, const OperationDefinition& operation,
                                     const boost::json::object& given, std::vector<Error>& errors);

boost::asio::awaitable<ExecutionResult> execute(const ExecutionRequest& request);

}  // namespace portico::graphql
