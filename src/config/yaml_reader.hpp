// Typed, error-collecting readers for YAML configuration nodes. Every reader reports a
// precise error (FILE:LINE:COL: path: message) and leaves its target unchanged on error,
// so one pass over a file reports every mistake in it.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "config/yaml_json.hpp"
#include "schema/record.hpp"

namespace portico::config {

SourceMark mark_of(const YAML::Node& n);
// The i-th element of a sequence node, or the node itself (for its position in errors).
YAML::Node element_or(const YAML::Node& seq, std::size_t i);

using FieldHandler = std::function<void(const YAML::Node& value, const std::string& path)>;
using FieldTable = std::map<std::string, FieldHandler, std::less<>>;
using NameSet = std::set<std::string, std::less<>>;

class YamlReader {
 public:
  explicit YamlReader(std::string file) : file_(std::move(file)) {}

  void add(SourceMark mark, std::string path, std::string message) {
    errors_.push_back({file_, mark, std::move(path), std::move(message)});
  }
  void add(const YAML::Node& n, std::string path, std::string message) { add(mark_of(n), std::move(path), std::move(message)); }
  std::vector<ConfigError>& errors() { return errors_; }

  // Reads a mapping field by field; unknown keys are errors, keys in `not_yet` are
  // reported as "not supported yet by Portico" (never silently ignored).
  void read_object(const YAML::Node& node, const std::string& path, const FieldTable& fields, const NameSet& not_yet = {});

  template <typename Fn>
  void read_list(const YAML::Node& v, const std::string& path, Fn fn) {
    if (!v.IsSequence()) return add(v, path, "expected an array");
    for (std::size_t i = 0; i < v.size(); ++i) {
      YAML::Node item = v[i];
      std::string item_path = path + "[" + std::to_string(i) + "]";
      fn(item, item_path);
    }
  }

  // Reads `node` with an entity record (config/entity_records.hpp), reporting its errors at
  // their file positions. `nested` names keys the caller reads itself (nested routes and
  // plugins, a reference to another entity), which the record does not see.
  template <typename C>
  void read_with_record(const schema::Record<C>& record, const YAML::Node& node, const std::string& path, C& out,
                        std::initializer_list<const char*> nested) {
    MarkMap marks;
    boost::json::value input = yaml_to_json(node, path, marks);
    if (input.is_object()) {
      for (const char* key : nested) input.as_object().erase(key);
    }
    schema::Errors errors;
    record.read(input, out, errors, schema::Input::typed, path);
    for (const auto& e : errors) {
      add(e.subject == schema::FieldError::Subject::key ? key_mark_at(marks, e.path) : mark_at(marks, e.path), e.path,
          e.message);
    }
  }

  FieldHandler string_field(std::string& out);
  FieldHandler bool_field(bool& out);
  FieldHandler ignored();

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

}  // namespace portico::config
