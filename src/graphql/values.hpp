// Values crossing the GraphQL type system (issue 17): variables and argument literals coerced
// to their input types, and resolved values serialized for scalar and enum fields, with
// graphql-js 16's rules and messages (its scalars accept and refuse the same inputs).
//
// Values are boost::json values. A JSON number with an integral value counts as an integer,
// as it does for JavaScript.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <vector>

#include "graphql/error.hpp"
#include "graphql/schema.hpp"

namespace portico::graphql {

using Json = boost::json::value;

// Output: a resolved value for a scalar or enum field; nullopt with `error` set when the
// type cannot represent it ("Int cannot represent non-integer value: 1.5").
std::optional<Json> serialize_leaf(const Type& type, const Json& value, std::string& error);

// Variables (graphql-js coerceInputValue): the value coerced to the type; each problem is
// reported with the path inside the value where it is, the offending part and a message.
struct InputProblem {
  std::vector<PathSegment> path;
  Json value;
  std::string message;
};
Json coerce_input(const Json& input, const TypeExpr& type, std::vector<InputProblem>& problems);

// Literals (graphql-js valueFromAST): the literal's value for the type, nullopt when it is not
// valid. `variables` holds the operation's coerced variables (nullptr for constant literals).
std::optional<Json> value_from_literal(const Value& literal, const TypeExpr& type, const boost::json::object* variables);

// Validation: why a literal is not a valid value of a leaf type (graphql-js parseLiteral's
// message), or nullopt when it is.
std::optional<std::string> leaf_literal_error(const Type& type, const Value& literal);

// A literal as plain JSON (custom scalars); nullopt when it uses a variable that has no value.
std::optional<Json> untyped_literal_value(const Value& literal, const boost::json::object* variables);

// A value as a GraphQL literal of its type (graphql-js print(astFromValue(...))), for
// introspection's defaultValue; nullopt when it cannot be written.
std::optional<std::string> print_input_value(const Json& value, const TypeExpr& type);

// Whether a JSON number holds an integral value (JavaScript's Number.isInteger).
bool is_integral_number(const Json& value);

}  // namespace portico::graphql
