// The checks a schema passes before it serves (issue 17): graphql-js 16's SDL validation
// (assertValidSDL: unique names, known types and directives, extensions of defined types) on
// the document, and its type-system validation (validateSchema: root types, fields of output
// types, arguments of input types, interfaces implemented correctly, unions of objects,
// input objects without non-null cycles, @oneOf rules) on the built schema.
#pragma once

#include <vector>

#include "graphql/ast.hpp"
#include "graphql/error.hpp"

namespace portico::graphql {

class Schema;

// `prelude` holds the built-in definitions the SDL may refer to.
void validate_sdl(const Document& sdl, const Document& prelude, std::vector<Error>& errors);
void validate_schema(const Schema& schema, std::vector<Error>& errors);

}  // namespace portico::graphql
