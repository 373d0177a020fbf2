#include "schema/record.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace portico::schema {

std::string join_path(const std::string& prefix, const std::string& name) {
  if (prefix.empty()) return name;
  if (name.empty()) return prefix;
  return prefix + "." + name;
}

namespace codec {
namespace {

std::string number_text(double d) {
  if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  std::string t = std::to_string(d);
  while (!t.empty() && t.back() == '0') t.pop_back();
  if (!t.empty() && t.back() == '.') t.pop_back();
  return t;
}

std::string element_path(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

// A JSON number (or, from text input, a numeric string) as a double.
bool as_number(const json::value& v, Input in, double& out) {
  if (v.is_int64()) out = static_cast<double>(v.as_int64());
  else if (v.is_uint64()) out = static_cast<double>(v.as_uint64());
  else if (v.is_double()) out = v.as_double();
  else if (in == Input::text && v.is_string() && !v.as_string().empty()) {
    std::string s(v.as_string());
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) return false;
  } else {
    return false;
  }
  return std::isfinite(out);
}

bool in_bounds(double value, const Rules& rules, const std::string& path, Errors& errors) {
  bool low = rules.min && value < *rules.min, high = rules.max && value > *rules.max;
  if (!low && !high) return true;
  if (rules.min && rules.max) {
    errors.push_back({path, "value should be between " + number_text(*rules.min) + " and " + number_text(*rules.max)});
  } else if (low) {
    errors.push_back({path, "value should be at least " + number_text(*rules.min)});
  } else {
    errors.push_back({path, "value should be at most " + number_text(*rules.max)});
  }
  return false;
}

bool string_rules(const std::string& s, const Rules& rules, const std::string& path, Errors& errors) {
  if (!rules.one_of.empty() && std::find(rules.one_of.begin(), rules.one_of.end(), s) == rules.one_of.end()) {
    std::string list;
    for (const auto& o : rules.one_of) list += (list.empty() ? "" : ", ") + o;
    errors.push_back({path, "expected one of: " + list});
    return false;
  }
  if (rules.check) {
    std::string why = rules.check(s);
    if (!why.empty()) {
      errors.push_back({path, std::move(why)});
      return false;
    }
  }
  return true;
}

// The elements of an array value; from text input a single scalar is a one-element array.
const json::array* elements(const json::value& v, Input in, json::array& single) {
  if (v.is_array()) return &v.as_array();
  if (in == Input::text && v.is_string()) {
    single = json::array{v};
    return &single;
  }
  return nullptr;
}

bool length_ok(std::size_t n, const Rules& rules, const std::string& path, Errors& errors) {
  if (n >= rules.len_min) return true;
  errors.push_back({path, "length must be at least " + std::to_string(rules.len_min)});
  return false;
}

// An array (the rules' len_min applies to it), each element read by `read_one`; `out` is
// replaced only when every element is valid.
template <typename T, typename ReadOne>
bool read_array(const json::value& v, std::vector<T>& out, const Rules& rules, Input in, const std::string& path,
                Errors& errors, ReadOne read_one) {
  json::array single;
  const json::array* a = elements(v, in, single);
  if (a == nullptr) {
    errors.push_back({path, "expected an array"});
    return false;
  }
  if (!length_ok(a->size(), rules, path, errors)) return false;
  std::vector<T> result(a->size());
  bool ok = true;
  for (std::size_t i = 0; i < a->size(); ++i) ok = read_one((*a)[i], result[i], element_path(path, i)) && ok;
  if (ok) out = std::move(result);
  return ok;
}

json::object base(const char* type) { return json::object{{"type", type}}; }

// A bound as Kong prints it: whole numbers without a fraction.
json::value bound(double d) {
  if (std::floor(d) == d && std::fabs(d) < 1e15) return static_cast<std::int64_t>(d);
  return d;
}

void describe_bounds(json::object& d, const Rules& rules) {
  if (rules.min && rules.max) d["between"] = json::array{bound(*rules.min), bound(*rules.max)};
  else if (rules.min) d["min"] = bound(*rules.min);
  else if (rules.max) d["max"] = bound(*rules.max);
}

void describe_strings(json::object& d, const Rules& rules) {
  if (!rules.one_of.empty()) {
    json::array a;
    for (const auto& o : rules.one_of) a.push_back(json::value(o));
    d["one_of"] = std::move(a);
  }
  if (rules.len_min > 0) d["len_min"] = rules.len_min;
}

}  // namespace

bool read(const json::value& v, bool& out, const Rules&, Input in, const std::string& path, Errors& errors) {
  if (v.is_bool()) {
    out = v.as_bool();
    return true;
  }
  if (in == Input::text && v.is_string() && (v.as_string() == "true" || v.as_string() == "false")) {
    out = v.as_string() == "true";
    return true;
  }
  errors.push_back({path, "expected a boolean"});
  return false;
}

bool read(const json::value& v, std::optional<bool>& out, const Rules& rules, Input in, const std::string& path,
          Errors& errors) {
  if (v.is_null()) {
    out.reset();
    return true;
  }
  bool value = false;
  if (!read(v, value, rules, in, path, errors)) return false;
  out = value;
  return true;
}

bool read(const json::value& v, int& out, const Rules& rules, Input in, const std::string& path, Errors& errors) {
  if (v.is_null() && rules.nullable) {
    out = -1;  // unset (written back as null)
    return true;
  }
  double d = 0;
  if (!as_number(v, in, d) || std::floor(d) != d || d < -2147483648.0 || d > 2147483647.0) {
    errors.push_back({path, "expected an integer"});
    return false;
  }
  if (!in_bounds(d, rules, path, errors)) return false;
  out = static_cast<int>(d);
  return true;
}

bool read(const json::value& v, double& out, const Rules& rules, Input in, const std::string& path, Errors& errors) {
  if (v.is_null() && rules.nullable) {
    out = -1;  // unset (written back as null)
    return true;
  }
  double d = 0;
  if (!as_number(v, in, d)) {
    errors.push_back({path, "expected a number"});
    return false;
  }
  if (!in_bounds(d, rules, path, errors)) return false;
  out = d;
  return true;
}

bool read(const json::value& v, std::string& out, const Rules& rules, Input, const std::string& path, Errors& errors) {
  if (v.is_null() && rules.nullable) {
    out.clear();
    return true;
  }
  if (!v.is_string()) {
    errors.push_back({path, "expected a string"});
    return false;
  }
  std::string s(v.as_string());
  if (s.size() < rules.len_min) {
    errors.push_back({path, "length must be at least " + std::to_string(rules.len_min)});
    return false;
  }
  if (!string_rules(s, rules, path, errors)) return false;
  out = std::move(s);
  return true;
}

bool read(const json::value& v, std::vector<std::string>& out, const Rules& rules, Input in, const std::string& path,
          Errors& errors) {
  if (v.is_null() && rules.nullable) {
    out.clear();
    return true;
  }
  return read_array(v, out, rules, in, path, errors, [&](const json::value& e, std::string& item, const std::string& p) {
    if (!e.is_string()) {
      errors.push_back({p, "expected a string"});
      return false;
    }
    item = std::string(e.as_string());
    return string_rules(item, rules, p, errors);
  });
}

bool read(const json::value& v, std::vector<int>& out, const Rules& rules, Input in, const std::string& path,
          Errors& errors) {
  return read_array(v, out, rules, in, path, errors, [&](const json::value& e, int& item, const std::string& p) {
    return read(e, item, rules, in, p, errors);
  });
}

bool read(const json::value& v, std::vector<std::pair<std::string, std::string>>& out, const Rules& rules, Input,
          const std::string& path, Errors& errors) {
  if (!v.is_object()) {
    errors.push_back({path, "expected a map"});
    return false;
  }
  std::vector<std::pair<std::string, std::string>> result;
  bool ok = true;
  for (const auto& [key, value] : v.as_object()) {
    std::string p = path + "." + std::string(key);
    if (!value.is_string()) {
      errors.push_back({p, "expected a string"});
      ok = false;
      continue;
    }
    std::string s(value.as_string());
    ok = string_rules(s, rules, p, errors) && ok;
    result.emplace_back(std::string(key), std::move(s));
  }
  if (ok) out = std::move(result);
  return ok;
}

bool read(const json::value& v, std::map<std::string, std::vector<std::string>>& out, const Rules& rules, Input in,
          const std::string& path, Errors& errors) {
  if (!v.is_object()) {
    errors.push_back({path, "expected a map"});
    return false;
  }
  std::map<std::string, std::vector<std::string>> result;
  bool ok = true;
  for (const auto& [key, value] : v.as_object()) {
    std::vector<std::string> list;
    // A single string is a one-element list (Kong's headers: {X-Version: v2}).
    json::value as_list = value.is_string() ? json::value(json::array{value}) : value;
    if (!read(as_list, list, Rules{.len_min = 1, .check = rules.check}, in, join_path(path, std::string(key)), errors)) {
      ok = false;
      continue;
    }
    result[std::string(key)] = std::move(list);
  }
  if (ok) out = std::move(result);
  return ok;
}

bool read(const json::value& v, json::value& out, const Rules&, Input, const std::string&, Errors&) {
  out = v;
  return true;
}

json::value write(const json::value& v, const Rules&) { return v; }

json::value write(const std::map<std::string, std::vector<std::string>>& v, const Rules&) {
  if (v.empty()) return nullptr;
  json::object o;
  for (const auto& [k, list] : v) {
    json::array a;
    for (const auto& s : list) a.push_back(json::value(s));
    o[k] = std::move(a);
  }
  return o;
}

json::value write(bool v, const Rules&) { return v; }
json::value write(const std::optional<bool>& v, const Rules&) { return v ? json::value(*v) : json::value(nullptr); }
json::value write(int v, const Rules& rules) {
  if (rules.nullable && v < 0) return nullptr;
  return v;
}
json::value write(double v, const Rules& rules) {
  if (rules.nullable && v < 0) return nullptr;
  return number_json(v);
}
json::value write(const std::string& v, const Rules& rules) {
  if (v.empty() && rules.nullable) return nullptr;
  return json::value(v);
}
json::value write(const std::vector<std::string>& v, const Rules& rules) {
  if (v.empty() && rules.nullable) return nullptr;
  json::array a;
  for (const auto& s : v) a.push_back(json::value(s));
  return a;
}
json::value write(const std::vector<int>& v, const Rules&) {
  json::array a;
  for (int i : v) a.push_back(i);
  return a;
}
json::value write(const std::vector<std::pair<std::string, std::string>>& v, const Rules&) {
  json::object o;
  for (const auto& [k, s] : v) o[k] = s;
  return o;
}

json::object describe(const std::map<std::string, std::vector<std::string>>*, const Rules&) {
  json::object d = base("map");
  d["keys"] = base("string");
  json::object values = base("array");
  values["elements"] = base("string");
  d["values"] = std::move(values);
  return d;
}

json::object describe(const json::value*, const Rules&) { return base("json"); }
json::object describe(const bool*, const Rules&) { return base("boolean"); }
json::object describe(const std::optional<bool>*, const Rules&) { return base("boolean"); }
json::object describe(const int*, const Rules& rules) {
  json::object d = base("integer");
  describe_bounds(d, rules);
  return d;
}
json::object describe(const double*, const Rules& rules) {
  json::object d = base("number");
  describe_bounds(d, rules);
  return d;
}
json::object describe(const std::string*, const Rules& rules) {
  json::object d = base("string");
  describe_strings(d, rules);
  return d;
}
json::object describe(const std::vector<std::string>*, const Rules& rules) {
  json::object d = base("array");
  json::object e = base("string");
  if (!rules.one_of.empty()) describe_strings(e, Rules{.one_of = rules.one_of});
  d["elements"] = std::move(e);
  if (rules.len_min > 0) d["len_min"] = rules.len_min;
  return d;
}
json::object describe(const std::vector<int>*, const Rules& rules) {
  json::object d = base("array");
  json::object e = base("integer");
  describe_bounds(e, rules);
  d["elements"] = std::move(e);
  if (rules.len_min > 0) d["len_min"] = rules.len_min;
  return d;
}
json::object describe(const std::vector<std::pair<std::string, std::string>>*, const Rules&) {
  json::object d = base("map");
  d["keys"] = base("string");
  d["values"] = base("string");
  return d;
}

}  // namespace codec
}  // namespace portico::schema
