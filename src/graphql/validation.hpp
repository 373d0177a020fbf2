// Validation of an executable document against a schema (issue 17): every rule of the GraphQL
// specification's Validation section, as graphql-js 16.9 implements them (its specifiedRules,
// with the same messages and locations), so a client sees the same errors from Portico as
// from a GraphQL server written in JavaScript. A document that fails validation is not
// executed: nothing is sent upstream.
#pragma once

#include <vector>

#include "graphql/ast.hpp"
#include "graphql/error.hpp"

namespace portico::graphql {

class Schema;

// The errors of `document` against `schema` (empty when it is valid).
std::vector<Error> validate(const Schema& schema, const Document& document);

}  // namespace portico::graphql
