// A GraphQL error as a response carries it (issue 17): a message, where in the document it
// comes from, and for execution errors the path of the response field it concerns.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "graphql/ast.hpp"

namespace portico::graphql {

// A step of a response path: a field's response key, or an index into a list.
struct PathSegment {
  std::string key;
  std::int64_t index = -1;
  bool is_index() const { return index >= 0; }
};

struct Error {
  std::string message;
  std::vector<SourceLocation> locations;
  std::vector<PathSegment> path;
};

// {"message": ..., "locations": [{"line","column"}], "path": [...]} (empty parts left out).
boost::json::value to_json(const Error& error);

// An error of the document at the given offsets ("Syntax Error: ..." and validation errors).
Error document_error(const Document& document, std::string message, std::initializer_list<std::uint32_t> offsets);

}  // namespace portico::graphql
