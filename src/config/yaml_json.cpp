#include "config/yaml_json.hpp"

#include <cmath>
#include <cstdlib>

#include "config/validators.hpp"
#include "config/yaml_reader.hpp"

namespace portico::config {
namespace json = boost::json;

namespace {

// Where a mapping key's own mark is kept: beside its value's, under a suffix no path has.
std::string key_entry(const std::string& path) { return path + "#key"; }

bool is_integer_text(const std::string& s) {
  std::size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

// YAML 1.2 core schema float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_float_text(const std::string& s) {
  std::size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  std::size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t exp = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == s.size();
}

json::value plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  // YAML 1.1's booleans too: Kong reads kong.yml with lyaml, where `yes`/`on` are true.
  for (const char* t : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"}) {
    if (s == t) return true;
  }
  for (const char* f : {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"}) {
    if (s == f) return false;
  }
  if (is_integer_text(s)) {
    long long v = 0;
    if (parse_integer(s[0] == '+' ? s.substr(1) : s, v)) return v;
  }
  if (is_float_text(s)) {
    double d = std::strtod(s.c_str(), nullptr);
    if (std::isfinite(d)) return d;
  }
  return json::value(s);
}

}  // namespace

json::value yaml_to_json(const YAML::Node& node, const std::string& path, MarkMap& marks) {
  marks[path] = mark_of(node);
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json::object o;
      for (const auto& kv : node) {
        std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
        std::string child = path.empty() ? key : path + "." + key;
        o[key] = yaml_to_json(kv.second, child, marks);
        marks[key_entry(child)] = mark_of(kv.first);
      }
      return o;
    }
    case YAML::NodeType::Sequence: {
      json::array a;
      for (std::size_t i = 0; i < node.size(); ++i) {
        a.push_back(yaml_to_json(node[i], path + "[" + std::to_string(i) + "]", marks));
      }
      return a;
    }
    case YAML::NodeType::Scalar:
      // Quoted, or tagged !!str: always a string.
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return json::value(node.Scalar());
      return plain_scalar(node.Scalar());
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
  }
  return nullptr;
}

SourceMark mark_at(const MarkMap& marks, std::string path) {
  for (;;) {
    if (auto it = marks.find(path); it != marks.end()) return it->second;
    std::size_t cut = path.find_last_of(".[");
    if (cut == std::string::npos) break;
    path.resize(cut);
  }
  auto root = marks.find("");
  return root == marks.end() ? SourceMark{} : root->second;
}

SourceMark key_mark_at(const MarkMap& marks, const std::string& path) {
  auto it = marks.find(key_entry(path));
  return it != marks.end() ? it->second : mark_at(marks, path);
}

}  // namespace portico::config
