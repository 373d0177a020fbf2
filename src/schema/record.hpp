// One declaration per configuration record: Kong-style fields bound to a C++ struct.
//
// A Record<C> lists C's fields once: Kong's field name, the member it fills, and its rules
// (bounds, one-of, required, nullable, a custom check). The member's C++ type gives the
// field's type, and the member's initializer in `C{}` is the field's default, so nothing
// is said twice. From that one declaration:
//   read()      validates a JSON value (from a declarative file, converted with its source
//               marks by config/yaml_json.hpp, or from an Admin API body) into a C, starting
//               from the defaults, collecting every field error with its path;
//   write()     gives the entity back as JSON with every default filled in (Admin API answers);
//   describe()  gives Kong's /schemas shape ({"fields":[{"name":{"type":...}}]}).
//
// Supported member types: bool, std::optional<bool> (nullable: Kong's tri-state booleans), int, double, std::string, std::vector<std::string>,
// std::vector<int>, std::vector<std::pair<std::string, std::string>> (a map of strings) and
// std::map<std::string, std::vector<std::string>> (a map of string lists: route headers), and
// other records (record(): nested records; records(): a list of them).
// Records are built once (function-local statics) and are immutable and thread-safe after.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace portico::schema {

namespace json = boost::json;

struct FieldError {
  // What the error is about, for where it is shown: a value (the default), a key that is
  // not a field (a file's error points at the key, not its value), or the record at `path`
  // as a whole (a record check; Kong lists these under "@entity").
  enum class Subject { value, key, record };
  std::string path;  // "minute", "key_names[1]", or "" for the record itself
  std::string message;
  Subject subject = Subject::value;
};
using Errors = std::vector<FieldError>;

// How scalars arrive. typed: JSON and YAML (a number is a number). text: form bodies, where
// every value is a string and Kong converts "100" to 100, "true" to true, and a single
// value to a one-element array.
enum class Input { typed, text };

// A field's rules; every member is optional. Written with designated initializers:
// {.min = 0, .max = 100}, {.one_of = {"exp", "nbf"}}, {.nullable = true}.
struct Rules {
  std::optional<double> min, max;      // numbers, integers, and the elements of their arrays
  std::vector<std::string> one_of;     // strings, and the elements of string arrays
  bool required = false;               // absent or null is an error ("required field missing")
  // strings: null reads as "" and "" is written as null; numbers: null reads as -1 ("unset",
  // the member's initializer by convention) and a negative value is written as null; string
  // arrays: null reads as empty and empty is written as null; optional booleans: null is unset.
  bool nullable = false;
  bool input_only = false;             // read and described, never written (Kong's service `url`)
  std::size_t len_min = 0;             // strings and arrays
  // A custom check on a string (or each string element, or each map value): "" when valid,
  // else the message.
  std::function<std::string(const std::string&)> check;
};

// The type-specific readers and writers (record.cpp). `path` names the value in errors.
namespace codec {
bool read(const json::value& v, bool& out, const Rules&, Input, const std::string& path, Errors& errors);
bool read(const json::value& v, std::optional<bool>& out, const Rules&, Input, const std::string& path, Errors& errors);
bool read(const json::value& v, int& out, const Rules&, Input, const std::string& path, Errors& errors);
bool read(const json::value& v, double& out, const Rules&, Input, const std::string& path, Errors& errors);
bool read(const json::value& v, std::string& out, const Rules&, Input, const std::string& path, Errors& errors);
bool read(const json::value& v, std::vector<std::string>& out, const Rules&, Input, const std::string& path, Errors& errors);
bool read(const json::value& v, std::vector<int>& out, const Rules&, Input, const std::string& path, Errors& errors);
bool read(const json::value& v, std::vector<std::pair<std::string, std::string>>& out, const Rules&, Input,
          const std::string& path, Errors& errors);
bool read(const json::value& v, std::map<std::string, std::vector<std::string>>& out, const Rules&, Input,
          const std::string& path, Errors& errors);
bool read(const json::value& v, json::value& out, const Rules&, Input, const std::string& path, Errors& errors);

json::value write(bool v, const Rules&);
json::value write(const std::optional<bool>& v, const Rules&);
json::value write(int v, const Rules&);
json::value write(double v, const Rules&);
json::value write(const std::string& v, const Rules&);
json::value write(const std::vector<std::string>& v, const Rules&);
json::value write(const std::vector<int>& v, const Rules&);
json::value write(const std::vector<std::pair<std::string, std::string>>& v, const Rules&);
json::value write(const std::map<std::string, std::vector<std::string>>& v, const Rules&);
json::value write(const json::value& v, const Rules&);

// Kong's description of a field of that type with those rules (without the default).
json::object describe(const bool*, const Rules&);
json::object describe(const std::optional<bool>*, const Rules&);
json::object describe(const int*, const Rules&);
json::object describe(const double*, const Rules&);
json::object describe(const std::string*, const Rules&);
json::object describe(const std::vector<std::string>*, const Rules&);
json::object describe(const std::vector<int>*, const Rules&);
json::object describe(const std::vector<std::pair<std::string, std::string>>*, const Rules&);
json::object describe(const std::map<std::string, std::vector<std::string>>*, const Rules&);
json::object describe(const json::value*, const Rules&);  // any JSON value
}  // namespace codec

// A number as JSON: integral values as integers ("timeout": 1, not 1E0, as Kong writes them).
inline json::value number_json(double v) {
  if (v == static_cast<double>(static_cast<std::int64_t>(v)) && v > -9.0e15 && v < 9.0e15) return static_cast<std::int64_t>(v);
  return v;
}

// "prefix.name" (or "name" when prefix is empty).
std::string join_path(const std::string& prefix, const std::string& name);

template <typename C>
class Record {
 public:
  using Value = C;
  // A field bound to a member of C.
  template <typename T>
  Record& field(std::string name, T C::*member, Rules rules = {}) {
    return field<T>(std::move(name), [member](C& c) -> T& { return c.*member; }, std::move(rules));
  }
  // A field bound through an accessor (for members of a nested struct, e.g. shared options).
  template <typename T>
  Record& field(std::string name, std::function<T&(C&)> access, Rules rules = {}) {
    Binding b;
    b.name = std::move(name);
    auto shared_rules = std::make_shared<const Rules>(std::move(rules));
    b.rules = shared_rules;
    b.read = [access, shared_rules](const json::value& v, C& c, Input in, const std::string& path, Errors& e) {
      T value{};
      if (codec::read(v, value, *shared_rules, in, path, e)) access(c) = std::move(value);
    };
    // The accessor only reads on this path: it takes C& so that one accessor serves read and write.
    if (!shared_rules->input_only) {
      b.write = [access, shared_rules](const C& c) { return codec::write(access(const_cast<C&>(c)), *shared_rules); };
    }
    b.describe = [access, shared_rules]() {
      json::object d = codec::describe(static_cast<const T*>(nullptr), *shared_rules);
      C defaults{};
      json::value def = codec::write(access(defaults), *shared_rules);
      if (!shared_rules->required) d["default"] = def;
      if (shared_rules->required) d["required"] = true;
      return d;
    };
    fields_.push_back(std::move(b));
    return *this;
  }
  // A nested record (Kong's `record` fields: an upstream's healthchecks). Its defaults are
  // those of the member in `C{}` (one struct type can have different defaults in different
  // places: active and passive health rules), and so is its description's.
  template <typename S>
  Record& record(std::string name, std::function<S&(C&)> access, const Record<S>& sub) {
    Binding b;
    b.name = std::move(name);
    const Record<S>* nested = &sub;  // records are statics: they outlive this one
    b.read = [access, nested](const json::value& v, C& c, Input in, const std::string& path, Errors& e) {
      nested->read(v, access(c), e, in, path);
    };
    b.write = [access, nested](const C& c) { return json::value(nested->write(access(const_cast<C&>(c)))); };
    b.describe = [access, nested]() {
      C defaults{};
      json::object written = nested->write(access(defaults));
      json::object d = nested->describe();
      for (auto& entry : d["fields"].as_array()) {
        for (auto& [field, description] : entry.as_object()) {
          auto& desc = description.as_object();
          if (desc.contains("default") && written.contains(field)) desc["default"] = written.at(field);
        }
      }
      d["default"] = std::move(written);
      return d;
    };
    fields_.push_back(std::move(b));
    return *this;
  }
  // A list of records (`backends: [{name: ..., url: ...}, ...]`): each element read with
  // `sub` from its defaults (S{}), errors under "name[i].field". `rules.required` and
  // `rules.len_min` apply to the list. JSON/YAML only: a form body has no lists of records.
  template <typename S>
  Record& records(std::string name, std::function<std::vector<S>&(C&)> access, const Record<S>& sub, Rules rules = {}) {
    Binding b;
    b.name = std::move(name);
    auto shared_rules = std::make_shared<const Rules>(std::move(rules));
    b.rules = shared_rules;
    const Record<S>* element = &sub;  // records are statics: they outlive this one
    b.read = [access, element, shared_rules](const json::value& v, C& c, Input in, const std::string& path, Errors& e) {
      if (!v.is_array()) {
        e.push_back({path, "expected an array"});
        return;
      }
      const auto& array = v.as_array();
      if (array.size() < shared_rules->len_min) {
        e.push_back({path, "length must be at least " + std::to_string(shared_rules->len_min)});
        return;
      }
      std::vector<S> out(array.size());
      for (std::size_t i = 0; i < array.size(); ++i) element->read(array[i], out[i], e, in, path + "[" + std::to_string(i) + "]");
      access(c) = std::move(out);
    };
    b.write = [access, element](const C& c) {
      json::array out;
      for (const auto& item : access(const_cast<C&>(c))) out.push_back(element->write(item));
      return json::value(std::move(out));
    };
    b.describe = [element, shared_rules]() {
      json::object d{{"type", "array"}, {"elements", element->describe()}};
      if (shared_rules->required) d["required"] = true;
      if (shared_rules->len_min > 0) d["len_min"] = shared_rules->len_min;
      return d;
    };
    fields_.push_back(std::move(b));
    return *this;
  }
  // A map of records (`resolvers: {"Query.user": {service: ..., path: ...}}`): each value read
  // with `sub` from its defaults (S{}), errors under "name.key.field", the keys in the order
  // given. JSON/YAML only, as records().
  template <typename S>
  Record& record_map(std::string name, std::function<std::vector<std::pair<std::string, S>>&(C&)> access, const Record<S>& sub) {
    Binding b;
    b.name = std::move(name);
    const Record<S>* element = &sub;  // records are statics: they outlive this one
    b.read = [access, element](const json::value& v, C& c, Input in, const std::string& path, Errors& e) {
      if (!v.is_object()) {
        e.push_back({path, "expected a map"});
        return;
      }
      std::vector<std::pair<std::string, S>> out;
      for (const auto& [key, value] : v.as_object()) {
        out.emplace_back(std::string(key), S{});
        element->read(value, out.back().second, e, in, join_path(path, std::string(key)));
      }
      access(c) = std::move(out);
    };
    b.write = [access, element](const C& c) {
      json::object out;
      for (const auto& [key, item] : access(const_cast<C&>(c))) out[key] = element->write(item);
      return json::value(std::move(out));
    };
    b.describe = [element]() {
      return json::object{{"type", "map"}, {"keys", json::object{{"type", "string"}}}, {"values", element->describe()}};
    };
    fields_.push_back(std::move(b));
    return *this;
  }
  // A field Kong has that Portico accepts and ignores (documented by the plugin).
  Record& accepted(std::string name, json::object description) {
    Binding b;
    b.name = std::move(name);
    b.read = [](const json::value&, C&, Input, const std::string&, Errors&) {};
    b.describe = [description]() { return description; };
    fields_.push_back(std::move(b));
    return *this;
  }
  // A field Kong has that Portico refuses (not supported yet): an error when it is set.
  Record& refused(std::string name, std::string message) {
    Binding b;
    b.name = std::move(name);
    b.read = [message](const json::value&, C&, Input, const std::string& path, Errors& e) {
      e.push_back({path, message, FieldError::Subject::key});
    };
    b.describe = [] { return json::object{{"type", "string"}}; };
    fields_.push_back(std::move(b));
    return *this;
  }
  // A check over the whole record, run when every field read cleanly; it adds errors with
  // paths relative to the record ("" for the record itself).
  Record& check(std::function<void(const C&, Errors&)> fn) {
    checks_.push_back([fn = std::move(fn)](C& c, const json::object&, Errors& e) { fn(c, e); });
    return *this;
  }
  // A step that completes the record from what was given (e.g. a url expanded into its
  // parts, a default that depends on another field); it sees the input object to tell a
  // field left to its default from one given. Runs with the checks, in declaration order.
  Record& finish(std::function<void(C&, const json::object& input, Errors&)> fn) {
    checks_.push_back(std::move(fn));
    return *this;
  }

  // Reads `input` (an object; null means "all defaults") into `out`, which should start
  // as C{}. Errors get paths under `prefix`. Returns true when no error was added.
  bool read(const json::value& input, C& out, Errors& errors, Input mode = Input::typed,
            const std::string& prefix = "") const {
    std::size_t before = errors.size();
    if (input.is_null()) {
      // All defaults, but required fields are still required.
    } else if (!input.is_object()) {
      errors.push_back({prefix, "expected a record"});
      return false;
    } else {
      for (const auto& [key, value] : input.as_object()) {
        if (find(key) == nullptr) {
          errors.push_back({join_path(prefix, std::string(key)), "unknown field", FieldError::Subject::key});
        }
      }
    }
    for (const auto& f : fields_) {
      std::string path = join_path(prefix, f.name);
      const json::value* v = input.is_object() ? input.as_object().if_contains(f.name) : nullptr;
      if (v == nullptr || (v->is_null() && !(f.rules && f.rules->nullable))) {
        if (f.rules && f.rules->required) errors.push_back({path, "required field missing"});
        continue;
      }
      f.read(*v, out, mode, path, errors);
    }
    if (errors.size() != before) return false;
    Errors record_errors;
    static const json::object kNoInput;
    const json::object& given = input.is_object() ? input.as_object() : kNoInput;
    for (const auto& c : checks_) c(out, given, record_errors);
    for (auto& e : record_errors) {
      auto subject = e.path.empty() ? FieldError::Subject::record : e.subject;
      errors.push_back({join_path(prefix, e.path), std::move(e.message), subject});
    }
    return errors.size() == before;
  }

  json::object write(const C& value) const {
    json::object out;
    for (const auto& f : fields_) {
      if (f.write) out[f.name] = f.write(value);
    }
    return out;
  }
  bool has_field(std::string_view name) const { return find(name) != nullptr; }

  // Kong's shape: {"type":"record","fields":[{"<name>":{...}}, ...]}.
  json::object describe() const {
    json::array list;
    for (const auto& f : fields_) list.push_back(json::object{{f.name, f.describe()}});
    return json::object{{"type", "record"}, {"fields", std::move(list)}};
  }

 private:
  struct Binding {
    std::string name;
    std::shared_ptr<const Rules> rules;
    std::function<void(const json::value&, C&, Input, const std::string&, Errors&)> read;
    std::function<json::value(const C&)> write;
    std::function<json::object()> describe;
  };
  const Binding* find(std::string_view name) const {
    for (const auto& f : fields_) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
  std::vector<Binding> fields_;
  std::vector<std::function<void(C&, const json::object&, Errors&)>> checks_;
};

}  // namespace portico::schema
