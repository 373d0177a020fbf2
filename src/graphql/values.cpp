#include "graphql/values.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

#include "graphql/text.hpp"

namespace portico::graphql {
namespace {

constexpr double kMaxInt = 2147483647.0;
constexpr double kMinInt = -2147483648.0;

bool is_number(const Json& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

double number_of(const Json& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return v.get_double();
}

// JavaScript's Number(string): whitespace trimmed, "" is 0, decimal, 0x/0o/0b, Infinity;
// anything else NaN.
double js_string_to_number(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  if (text.empty()) return 0;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X' || text[1] == 'o' || text[1] == 'O' ||
                                            text[1] == 'b' || text[1] == 'B')) {
    const int base = (text[1] == 'x' || text[1] == 'X') ? 16 : (text[1] == 'o' || text[1] == 'O') ? 8 : 2;
    double value = 0;
    for (char c : text.substr(2)) {
      int digit = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : 99;
      if (digit >= base) return NAN;
      value = value * base + digit;
    }
    return value;
  }
  std::string_view body = text;
  if (body.front() == '+' || body.front() == '-') body.remove_prefix(1);
  if (body == "Infinity") return text.front() == '-' ? -INFINITY : INFINITY;
  // A decimal literal: digits, an optional fraction, an optional exponent, nothing else.
  std::size_t i = 0;
  std::size_t digits = 0;
  while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) ++i, ++digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) ++i, ++digits;
  }
  if (digits == 0) return NAN;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    const std::size_t exponent_start = i;
    while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) ++i;
    if (i == exponent_start) return NAN;
  }
  if (i != body.size()) return NAN;
  return std::strtod(std::string(text).c_str(), nullptr);
}

Json integral_json(double value) {
  if (std::fabs(value) < 9007199254740992.0) return static_cast<std::int64_t>(value);
  return value;
}

std::string enum_suggestions(const Type& type, std::string_view unknown) {
  std::vector<std::string_view> names;
  for (const EnumValue& value : type.values) names.emplace_back(value.name);
  return did_you_mean(suggestion_list(unknown, names), "the enum value");
}

// A scalar or enum's parseValue (variables).
std::optional<Json> parse_leaf_value(const Type& type, const Json& input, std::string& error) {
  if (type.kind == TypeKind::enum_type) {
    if (!input.is_string()) {
      const std::string shown = inspect(input);
      error = fmt::format("Enum \"{}\" cannot represent non-string value: {}.{}", type.name, shown, enum_suggestions(type, shown));
      return std::nullopt;
    }
    const std::string_view name = input.get_string();
    if (!type.enum_value(name)) {
      error = fmt::format("Value \"{}\" does not exist in \"{}\" enum.{}", name, type.name, enum_suggestions(type, name));
      return std::nullopt;
    }
    return input;
  }
  const std::string& name = type.name;
  if (name == "Int") {
    if (!is_integral_number(input)) {
      error = "Int cannot represent non-integer value: " + inspect(input);
      return std::nullopt;
    }
    const double value = number_of(input);
    if (value > kMaxInt || value < kMinInt) {
      error = "Int cannot represent non 32-bit signed integer value: " + inspect(input);
      return std::nullopt;
    }
    return integral_json(value);
  }
  if (name == "Float") {
    if (!is_number(input) || !std::isfinite(number_of(input))) {
      error = "Float cannot represent non numeric value: " + inspect(input);
      return std::nullopt;
    }
    return input;
  }
  if (name == "String") {
    if (!input.is_string()) {
      error = "String cannot represent a non string value: " + inspect(input);
      return std::nullopt;
    }
    return input;
  }
  if (name == "Boolean") {
    if (!input.is_bool()) {
      error = "Boolean cannot represent a non boolean value: " + inspect(input);
      return std::nullopt;
    }
    return input;
  }
  if (name == "ID") {
    if (input.is_string()) return input;
    if (is_integral_number(input)) return Json(js_number(number_of(input)));
    error = "ID cannot represent value: " + inspect(input);
    return std::nullopt;
  }
  return input;  // a custom scalar takes any value as it is
}

void coerce_into(const Json& input, const TypeExpr& type, std::vector<PathSegment>& path, Json& out,
                 std::vector<InputProblem>& problems) {
  const auto problem = [&](const Json& value, std::string message) {
    problems.push_back({path, value, std::move(message)});
  };
  if (type.is_non_null()) {
    if (!input.is_null()) {
      coerce_into(input, type.of(), path, out, problems);
      return;
    }
    problem(input, fmt::format("Expected non-nullable type \"{}\" not to be null.", type.to_string()));
    return;
  }
  if (input.is_null()) {
    out = nullptr;
    return;
  }
  if (type.is_list()) {
    boost::json::array items;
    if (input.is_array()) {
      const auto& array = input.get_array();
      items.resize(array.size());
      for (std::size_t i = 0; i < array.size(); ++i) {
        path.push_back({{}, static_cast<std::int64_t>(i)});
        coerce_into(array[i], type.of(), path, items[i], problems);
        path.pop_back();
      }
    } else {
      // A single value where a list is expected is a list of one.
      items.resize(1);
      coerce_into(input, type.of(), path, items[0], problems);
    }
    out = std::move(items);
    return;
  }
  const Type& named = type.named_type();
  if (named.kind == TypeKind::input_object) {
    if (!input.is_object()) {
      problem(input, fmt::format("Expected type \"{}\" to be an object.", named.name));
      return;
    }
    const auto& given = input.get_object();
    boost::json::object coerced;
    for (const InputValue& field : named.input_fields) {
      const auto* value = given.if_contains(field.name);
      if (!value) {
        if (field.default_value) {
          coerced[field.name] = *field.default_value;
        } else if (field.type.is_non_null()) {
          problem(input, fmt::format("Field \"{}\" of required type \"{}\" was not provided.", field.name, field.type.to_string()));
        }
        continue;
      }
      path.push_back({field.name, -1});
      coerce_into(*value, field.type, path, coerced[field.name], problems);
      path.pop_back();
    }
    for (const auto& member : given) {
      if (named.input_field(member.key())) continue;
      std::vector<std::string_view> names;
      for (const InputValue& field : named.input_fields) names.emplace_back(field.name);
      problem(input, fmt::format("Field \"{}\" is not defined by type \"{}\".{}", std::string_view(member.key()), named.name,
                                 did_you_mean(suggestion_list(member.key(), names))));
    }
    if (named.one_of) {
      if (coerced.size() != 1) {
        problem(input, fmt::format("Exactly one key must be specified for OneOf type \"{}\".", named.name));
      }
      if (!coerced.empty() && coerced.begin()->value().is_null()) {
        path.push_back({std::string(coerced.begin()->key()), -1});
        problem(nullptr, fmt::format("Field \"{}\" must be non-null.", std::string_view(coerced.begin()->key())));
        path.pop_back();
      }
    }
    out = std::move(coerced);
    return;
  }
  std::string error;
  if (auto value = parse_leaf_value(named, input, error)) {
    out = std::move(*value);
  } else {
    problem(input, error);
  }
}

bool is_missing_variable(const Value& literal, const boost::json::object* variables) {
  return literal.kind == Value::Kind::variable && (!variables || !variables->contains(literal.raw));
}

}  // namespace

bool is_integral_number(const Json& value) {
  if (value.is_int64() || value.is_uint64()) return true;
  if (!value.is_double()) return false;
  const double d = value.get_double();
  return std::isfinite(d) && std::trunc(d) == d;
}

std::optional<Json> serialize_leaf(const Type& type, const Json& value, std::string& error) {
  if (type.kind == TypeKind::enum_type) {
    if (value.is_string() && type.enum_value(value.get_string())) return value;
    error = fmt::format("Enum \"{}\" cannot represent value: {}", type.name, inspect(value));
    return std::nullopt;
  }
  const std::string& name = type.name;
  if (name == "Int" || name == "Float") {
    const bool is_int = name == "Int";
    double number = NAN;
    if (value.is_bool()) {
      number = value.get_bool() ? 1 : 0;
    } else if (is_number(value)) {
      number = number_of(value);
    } else if (value.is_string() && !value.get_string().empty()) {
      number = js_string_to_number(value.get_string());
    }
    if (is_int) {
      if (!std::isfinite(number) || std::trunc(number) != number) {
        error = "Int cannot represent non-integer value: " + inspect(value);
        return std::nullopt;
      }
      if (number > kMaxInt || number < kMinInt) {
        error = "Int cannot represent non 32-bit signed integer value: " + inspect(value);
        return std::nullopt;
      }
      return integral_json(number);
    }
    if (!std::isfinite(number)) {
      error = "Float cannot represent non numeric value: " + inspect(value);
      return std::nullopt;
    }
    return std::trunc(number) == number ? integral_json(number) : Json(number);
  }
  if (name == "String") {
    if (value.is_string()) return value;
    if (value.is_bool()) return Json(value.get_bool() ? "true" : "false");
    if (is_number(value)) return Json(value.is_double() ? js_number(value.get_double()) : boost::json::serialize(value));
    error = "String cannot represent value: " + inspect(value);
    return std::nullopt;
  }
  if (name == "Boolean") {
    if (value.is_bool()) return value;
    if (is_number(value)) return Json(number_of(value) != 0);
    error = "Boolean cannot represent a non boolean value: " + inspect(value);
    return std::nullopt;
  }
  if (name == "ID") {
    if (value.is_string()) return value;
    if (is_integral_number(value)) return Json(js_number(number_of(value)));
    error = "ID cannot represent value: " + inspect(value);
    return std::nullopt;
  }
  return value;  // a custom scalar is written as it is
}

Json coerce_input(const Json& input, const TypeExpr& type, std::vector<InputProblem>& problems) {
  std::vector<PathSegment> path;
  Json out;
  coerce_into(input, type, path, out, problems);
  return out;
}

std::optional<Json> untyped_literal_value(const Value& literal, const boost::json::object* variables) {
  switch (literal.kind) {
    case Value::Kind::null: return Json(nullptr);
    case Value::Kind::int_number: return integral_json(std::strtod(std::string(literal.raw).c_str(), nullptr));
    case Value::Kind::float_number: return Json(std::strtod(std::string(literal.raw).c_str(), nullptr));
    case Value::Kind::string: return Json(literal.string);
    case Value::Kind::enum_value: return Json(literal.raw);
    case Value::Kind::boolean: return Json(literal.boolean);
    case Value::Kind::list: {
      boost::json::array items;
      for (const Value& item : literal.items) {
        auto value = untyped_literal_value(item, variables);
        items.push_back(value ? std::move(*value) : Json(nullptr));
      }
      return Json(std::move(items));
    }
    case Value::Kind::object: {
      boost::json::object object;
      for (const ObjectField& field : literal.fields) {
        auto value = untyped_literal_value(field.value, variables);
        if (value) object[field.name] = std::move(*value);
      }
      return Json(std::move(object));
    }
    case Value::Kind::variable:
      if (variables) {
        if (const auto* value = variables->if_contains(literal.raw)) return *value;
      }
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::string> leaf_literal_error(const Type& type, const Value& literal) {
  const std::string printed = print_value(literal);
  if (type.kind == TypeKind::enum_type) {
    if (literal.kind != Value::Kind::enum_value) {
      return fmt::format("Enum \"{}\" cannot represent non-enum value: {}.{}", type.name, printed, enum_suggestions(type, printed));
    }
    if (!type.enum_value(literal.raw)) {
      return fmt::format("Value \"{}\" does not exist in \"{}\" enum.{}", printed, type.name, enum_suggestions(type, printed));
    }
    return std::nullopt;
  }
  const std::string& name = type.name;
  if (name == "Int") {
    if (literal.kind != Value::Kind::int_number) return "Int cannot represent non-integer value: " + printed;
    const double value = std::strtod(std::string(literal.raw).c_str(), nullptr);
    if (value > kMaxInt || value < kMinInt) return "Int cannot represent non 32-bit signed integer value: " + printed;
    return std::nullopt;
  }
  if (name == "Float") {
    if (literal.kind != Value::Kind::int_number && literal.kind != Value::Kind::float_number) {
      return "Float cannot represent non numeric value: " + printed;
    }
    return std::nullopt;
  }
  if (name == "String") {
    if (literal.kind != Value::Kind::string) return "String cannot represent a non string value: " + printed;
    return std::nullopt;
  }
  if (name == "Boolean") {
    if (literal.kind != Value::Kind::boolean) return "Boolean cannot represent a non boolean value: " + printed;
    return std::nullopt;
  }
  if (name == "ID") {
    if (literal.kind != Value::Kind::string && literal.kind != Value::Kind::int_number) {
      return "ID cannot represent a non-string and non-integer value: " + printed;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<Json> value_from_literal(const Value& literal, const TypeExpr& type, const boost::json::object* variables) {
  if (literal.kind == Value::Kind::variable) {
    if (!variables) return std::nullopt;
    const auto* value = variables->if_contains(literal.raw);
    if (!value) return std::nullopt;
    if (value->is_null() && type.is_non_null()) return std::nullopt;
    return *value;
  }
  if (type.is_non_null()) {
    if (literal.kind == Value::Kind::null) return std::nullopt;
    return value_from_literal(literal, type.of(), variables);
  }
  if (literal.kind == Value::Kind::null) return Json(nullptr);
  if (type.is_list()) {
    const TypeExpr& item_type = type.of();
    if (literal.kind != Value::Kind::list) {
      auto value = value_from_literal(literal, item_type, variables);
      if (!value) return std::nullopt;
      return Json(boost::json::array{std::move(*value)});
    }
    boost::json::array items;
    for (const Value& item : literal.items) {
      if (is_missing_variable(item, variables)) {
        if (item_type.is_non_null()) return std::nullopt;
        items.emplace_back(nullptr);
        continue;
      }
      auto value = value_from_literal(item, item_type, variables);
      if (!value) return std::nullopt;
      items.push_back(std::move(*value));
    }
    return Json(std::move(items));
  }
  const Type& named = type.named_type();
  if (named.kind == TypeKind::input_object) {
    if (literal.kind != Value::Kind::object) return std::nullopt;
    boost::json::object object;
    for (const InputValue& field : named.input_fields) {
      const ObjectField* given = nullptr;
      for (const ObjectField& f : literal.fields) {
        if (f.name == field.name) {
          given = &f;
          break;
        }
      }
      if (!given || is_missing_variable(given->value, variables)) {
        if (field.default_value) {
          object[field.name] = *field.default_value;
        } else if (field.type.is_non_null()) {
          return std::nullopt;
        }
        continue;
      }
      auto value = value_from_literal(given->value, field.type, variables);
      if (!value) return std::nullopt;
      object[field.name] = std::move(*value);
    }
    if (named.one_of && (object.size() != 1 || object.begin()->value().is_null())) return std::nullopt;
    return Json(std::move(object));
  }
  if (named.kind == TypeKind::enum_type) {
    if (literal.kind != Value::Kind::enum_value || !named.enum_value(literal.raw)) return std::nullopt;
    return Json(literal.raw);
  }
  if (!named.built_in) return untyped_literal_value(literal, variables);
  if (leaf_literal_error(named, literal)) return std::nullopt;
  switch (literal.kind) {
    case Value::Kind::int_number:
      if (named.name == "ID") return Json(literal.raw);
      return untyped_literal_value(literal, variables);
    case Value::Kind::float_number:
    case Value::Kind::boolean:
    case Value::Kind::string: return untyped_literal_value(literal, variables);
    default: return std::nullopt;
  }
}

std::optional<std::string> print_input_value(const Json& value, const TypeExpr& type) {
  if (type.is_non_null()) {
    if (value.is_null()) return std::nullopt;
    return print_input_value(value, type.of());
  }
  if (value.is_null()) return std::string("null");
  if (type.is_list()) {
    if (!value.is_array()) return print_input_value(value, type.of());
    std::string out = "[";
    bool first = true;
    for (const Json& item : value.get_array()) {
      auto text = print_input_value(item, type.of());
      if (!text) continue;
      if (!first) out += ", ";
      first = false;
      out += *text;
    }
    return out + "]";
  }
  const Type& named = type.named_type();
  if (named.kind == TypeKind::input_object) {
    if (!value.is_object()) return std::nullopt;
    std::string out = "{";
    bool first = true;
    for (const InputValue& field : named.input_fields) {
      const auto* member = value.get_object().if_contains(field.name);
      if (!member) continue;
      auto text = print_input_value(*member, field.type);
      if (!text) continue;
      if (!first) out += ", ";
      first = false;
      out += field.name + ": " + *text;
    }
    return out + "}";
  }
  std::string error;
  auto serialized = serialize_leaf(named, value, error);
  if (!serialized) return std::nullopt;
  if (serialized->is_bool()) return std::string(serialized->get_bool() ? "true" : "false");
  if (is_number(*serialized)) return serialized->is_double() ? js_number(serialized->get_double()) : boost::json::serialize(*serialized);
  if (serialized->is_string()) {
    const std::string_view text = serialized->get_string();
    if (named.kind == TypeKind::enum_type) return std::string(text);
    // An ID that looks like an integer is written as one.
    if (named.name == "ID" && !text.empty() && text.find_first_not_of("-0123456789") == std::string_view::npos) {
      return std::string(text);
    }
    return print_string_literal(text);
  }
  return std::nullopt;
}

}  // namespace portico::graphql
