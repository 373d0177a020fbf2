// A YAML tree as JSON, for the schema layer (schema/record.hpp), with the source position
// of every node kept by path so that schema errors can name file:line:col.
#pragma once

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <map>
#include <string>

#include "config/model.hpp"

namespace portico::config {

// Where each node of a converted tree was, by the paths schema errors use
// ("plugins[0].config.key_names[1]").
using MarkMap = std::map<std::string, SourceMark, std::less<>>;

// Converts `node` (recorded under `path`): mappings become objects (keys as strings),
// sequences arrays, quoted (or !!str) scalars strings, and plain scalars typed: null and ~,
// booleans (true/false and YAML 1.1's yes/no/on/off, as Kong's lyaml reads them), decimal
// integers and floats; anything else a string. So `minute: 5` is a number and `minute: "5"`
// a string, as in Kong: a quoted number in a number field is an error ("expected a number").
boost::json::value yaml_to_json(const YAML::Node& node, const std::string& path, MarkMap& marks);

// The mark of `path`, or of its nearest recorded ancestor ("a.b[2].c" -> "a.b[2]" -> "a.b" ...).
SourceMark mark_at(const MarkMap& marks, std::string path);
// The mark of the key that named `path` in its mapping (for "unknown field"), else mark_at().
SourceMark key_mark_at(const MarkMap& marks, const std::string& path);

}  // namespace portico::config
