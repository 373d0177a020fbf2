#include "config/yaml_reader.hpp"

#include <cmath>
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

FieldHandler YamlReader::nullable_string_field(std::string& out) {
  return [this, &out](const YAML::Node& v, const std::string& path) {
    if (v.IsNull()) return out.clear();
    string_field(out)(v, path);
  };
}

FieldHandler YamlReader::enum_field(std::string& out, std::initializer_list<const char*> allowed) {
  std::vector<std::string> names(allowed.begin(), allowed.end());
  return [this, &out, names](const YAML::Node& v, const std::string& path) {
    if (!v.IsScalar()) return add(v, path, "expected a string");
    for (const auto& n : names) {
      if (v.Scalar() == n) {
        out = n;
        return;
      }
    }
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    add(v, path, "expected one of: " + list);
  };
}

FieldHandler YamlReader::int_field(int& out, long long min, long long max) {
  return [this, &out, min, max](const YAML::Node& v, const std::string& path) {
    long long value = 0;
    if (!v.IsScalar() || !parse_integer(v.Scalar(), value)) return add(v, path, "expected an integer");
    if (value < min || value > max) {
      return add(v, path, "value must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    out = static_cast<int>(value);
  };
}

FieldHandler YamlReader::number_field(double& out, double min, double max) {
  return [this, &out, min, max](const YAML::Node& v, const std::string& path) {
    if (!v.IsScalar() || v.Scalar().empty()) return add(v, path, "expected a number");
    const std::string& s = v.Scalar();
    char* end = nullptr;
    double value = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || !std::isfinite(value)) return add(v, path, "expected a number");
    if (value < min || value > max) {
      auto text = [](double d) {
        std::string t = std::to_string(d);
        while (!t.empty() && t.back() == '0') t.pop_back();
        if (!t.empty() && t.back() == '.') t.pop_back();
        return t;
      };
      return add(v, path, "value must be between " + text(min) + " and " + text(max));
    }
    out = value;
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

FieldHandler YamlReader::string_list_field(std::vector<std::string>& out) {
  return [this, &out](const YAML::Node& v, const std::string& path) {
    if (!v.IsSequence()) return add(v, path, "expected an array of strings");
    out.clear();
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].IsScalar()) {
        add(v[i], path + "[" + std::to_string(i) + "]", "expected a string");
        continue;
      }
      out.push_back(v[i].Scalar());
    }
  };
}

FieldHandler YamlReader::int_list_field(std::vector<int>& out, long long min, long long max) {
  return [this, &out, min, max](const YAML::Node& v, const std::string& path) {
    if (!v.IsSequence()) return add(v, path, "expected an array of integers");
    out.clear();
    for (std::size_t i = 0; i < v.size(); ++i) {
      int value = 0;
      std::size_t before = errors_.size();
      int_field(value, min, max)(v[i], path + "[" + std::to_string(i) + "]");
      if (errors_.size() == before) out.push_back(value);
    }
  };
}

FieldHandler YamlReader::ignored() {
  return [](const YAML::Node&, const std::string&) {};
}

}  // namespace portico::config
