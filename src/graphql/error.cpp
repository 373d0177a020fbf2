#include "graphql/error.hpp"

#include <boost/json.hpp>

namespace portico::graphql {

boost::json::value to_json(const Error& error) {
  boost::json::object out;
  out["message"] = error.message;
  if (!error.locations.empty()) {
    boost::json::array locations;
    for (const SourceLocation& l : error.locations) {
      locations.push_back(boost::json::object{{"line", l.line}, {"column", l.column}});
    }
    out["locations"] = std::move(locations);
  }
  if (!error.path.empty()) {
    boost::json::array path;
    for (const PathSegment& segment : error.path) {
      if (segment.is_index()) {
        path.emplace_back(segment.index);
      } else {
        path.emplace_back(segment.key);
      }
    }
    out["path"] = std::move(path);
  }
  return out;
}

Error document_error(const Document& document, std::string message, std::initializer_list<std::uint32_t> offsets) {
  Error error;
  error.message = std::move(message);
  for (std::uint32_t offset : offsets) error.locations.push_back(document.location(offset));
  return error;
}

}  // namespace portico::graphql
