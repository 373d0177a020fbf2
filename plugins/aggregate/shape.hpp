// Shaping a backend's JSON answer without code (issue 12): allow / deny by dot paths, select
// by JSON pointer, reduce (count, first), rename. Pure functions over boost::json values,
// used by the aggregate plugin on each backend's body before it is composed.
#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::plugins::aggregate {

// A dot path into JSON: "user.address.city". A segment that meets an array applies to each of
// its elements, so "items.cost" and "items[*].cost" (the same) name every item's cost.
class FieldPath {
 public:
  // nullopt with `error` set for an empty path or an empty segment ("a..b").
  static std::optional<FieldPath> parse(std::string_view text, std::string& error);
  const std::vector<std::string>& segments() const { return segments_; }

 private:
  std::vector<std::string> segments_;
};

// Keeps only the allowed paths (and the objects and arrays that lead to them); an empty list
// keeps everything.
void keep_only(boost::json::value& v, const std::vector<FieldPath>& allow);
// Removes every denied path.
void remove(boost::json::value& v, const std::vector<FieldPath>& deny);

enum class Reduce { none, count, first };
// count: an array's length (an object's size, 0 for null, 1 for anything else);
// first: an array's first element (null when empty), anything else unchanged.
boost::json::value reduce(boost::json::value v, Reduce how);

// Renames the last segment of each path (`{"user.fullname": "name"}`: user.fullname becomes
// user.name), wherever the path leads (through arrays too). A rename onto an existing field
// replaces it.
void rename(boost::json::value& v, const std::vector<std::pair<FieldPath, std::string>>& renames);

}  // namespace portico::plugins::aggregate
