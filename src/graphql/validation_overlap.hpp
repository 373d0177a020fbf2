// The validation rule "Field Selection Merging" (OverlappingFieldsCanBeMerged, issue 17): two
// fields with the same response key must be the same field with the same arguments, or lie
// in mutually exclusive object types, and return compatible shapes, however they are reached
// through fragments. A port of graphql-js 16's algorithm (its caching of each selection set's
// fields and of compared fragment pairs keeps it from going exponential on hostile documents).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "graphql/ast.hpp"
#include "graphql/error.hpp"

namespace portico::graphql {

class Schema;
struct Type;
struct Field;

class OverlapChecker {
 public:
  OverlapChecker(const Schema& schema, const Document& document, std::vector<Error>& errors);
  ~OverlapChecker();

  // Reports the conflicts within one selection set; `parent` is its parent type (nullptr when
  // unknown). Called for every selection set of the document.
  void check(const Type* parent, const SelectionSet& set);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace portico::graphql
