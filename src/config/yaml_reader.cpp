#include "config/yaml_reader.hpp"

#include <cstdlib>

#include "config/validators.hpp"

namespace portico::config {

SourceMark mark_of(const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

YAML::Node element_or(const YAML::Node& seq, std::size_t i) {
  if (seq.IsSequence() && i < seq.size()) return seq[i];
  return seq;
}

void YamlReader::read_object(const YAML::Node& node, const std::string& path, const FieldTable& fields,
                             const NameSet& not_yet) {
  if (!node.IsMap()) {
    add(node, path, "expected a mapping");
    return;
  }
  for (const auto& kv : node) {
    std::string key;
    try {
      key = kv.first.as<std::string>();
    } catch (const YAML::Exception&) {
      add(kv.first, path, "expected a string key");
      continue;
    }
    std::string child = path.empty() ? key : path + "." + key;
    auto it = fields.find(key);
    if (it != fields.end()) {
      if (!kv.second.IsNull()) it->second(kv.second, child);
    } else if (not_yet.count(key)) {
      add(kv.first, child, "not supported yet by Portico");
    } else {
      add(kv.first, child, "unknown field");
    }
  }
}

FieldHandler YamlReader::string_field(std::string& out) {
  return [this, &out](const YAML::Node& v, const std::string& path) {
    if (!v.IsScalar()) return add(v, path, "expected a string");
    out = v.Scalar();
  };
}

FieldHandler YamlReader::bool_field(bool& out) {
  return [this, &out](const YAML::Node& v, const std::string& path) {
    if (!v.IsScalar()) return add(v, path, "expected a boolean");
    const std::string& s = v.Scalar();
    if (s == "true") out = true;
    else if (s == "false") out = false;
    else add(v, path, "expected a boolean");
  };
}

FieldHandler YamlReader::ignored() {
  return [](const YAML::Node&, const std::string&) {};
}

}  // namespace portico::config
