// The GraphQL parser (issue 17): a recursive-descent parser for the specification's grammar
// (executable documents and the type-system SDL), with graphql-js 16's syntax error messages.
#pragma once

#include <cstdint>
#include <string>

#include "graphql/ast.hpp"
#include "graphql/lexer.hpp"

namespace portico::graphql {

struct ParseOptions {
  // The most tokens a document may hold (0: no limit); a longer one is refused while it is
  // read ("Document contains more than 1000 tokens. Parsing aborted."), before any work on it.
  std::uint32_t max_tokens = 0;
};

// Parses a whole document. Throws SyntaxError (message without "Syntax Error: ", offset).
Document parse(std::string source, const ParseOptions& options = {});

}  // namespace portico::graphql
