#include "graphql/text.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>

namespace portico::graphql {
namespace {

constexpr std::size_t kMaxArrayLength = 10;
constexpr std::size_t kMaxRecursiveDepth = 2;

void inspect_into(const boost::json::value& value, std::size_t depth, std::string& out) {
  switch (value.kind()) {
    case boost::json::kind::string:
      out += json_quote(value.get_string());
      return;
    case boost::json::kind::int64:
      out += std::to_string(value.get_int64());
      return;
    case boost::json::kind::uint64:
      out += std::to_string(value.get_uint64());
      return;
    case boost::json::kind::double_:
      out += js_number(value.get_double());
      return;
    case boost::json::kind::bool_:
      out += value.get_bool() ? "true" : "false";
      return;
    case boost::json::kind::null:
      out += "null";
      return;
    case boost::json::kind::array: {
      const auto& array = value.get_array();
      if (array.empty()) {
        out += "[]";
        return;
      }
      if (depth > kMaxRecursiveDepth) {
        out += "[Array]";
        return;
      }
      out += '[';
      const std::size_t shown = std::min(kMaxArrayLength, array.size());
      for (std::size_t i = 0; i < shown; ++i) {
        if (i) out += ", ";
        inspect_into(array[i], depth + 1, out);
      }
      const std::size_t remaining = array.size() - shown;
      if (remaining == 1) out += ", ... 1 more item";
      if (remaining > 1) out += fmt::format(", ... {} more items", remaining);
      out += ']';
      return;
    }
    case boost::json::kind::object: {
      const auto& object = value.get_object();
      if (object.empty()) {
        out += "{}";
        return;
      }
      if (depth > kMaxRecursiveDepth) {
        out += "[Object]";
        return;
      }
      out += "{ ";
      bool first = true;
      for (const auto& member : object) {
        if (!first) out += ", ";
        first = false;
        out.append(member.key());
        out += ": ";
        inspect_into(member.value(), depth + 1, out);
      }
      out += " }";
      return;
    }
  }
}

bool is_whitespace(char c) { return c == ' ' || c == '\t'; }

std::string print_block_string(std::string_view value) {
  std::string escaped;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value.compare(i, 3, "\"\"\"") == 0) {
      escaped += "\\\"\"\"";
      i += 2;
    } else {
      escaped += value[i];
    }
  }
  std::vector<std::string_view> lines;
  std::string_view rest = escaped;
  while (true) {
    const std::size_t end = rest.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      lines.push_back(rest);
      break;
    }
    lines.push_back(rest.substr(0, end));
    rest.remove_prefix(end + ((rest[end] == '\r' && end + 1 < rest.size() && rest[end + 1] == '\n') ? 2 : 1));
  }
  const bool single_line = lines.size() == 1;
  const bool force_leading_newline =
      lines.size() > 1 && std::all_of(lines.begin() + 1, lines.end(), [](std::string_view line) {
        return line.empty() || is_whitespace(line.front());
      });
  const bool trailing_triple_quotes = escaped.size() >= 4 && escaped.compare(escaped.size() - 4, 4, "\\\"\"\"") == 0;
  const bool trailing_quote = !value.empty() && value.back() == '"' && !trailing_triple_quotes;
  const bool trailing_slash = !value.empty() && value.back() == '\\';
  const bool force_trailing_newline = trailing_quote || trailing_slash;
  const bool multiple_lines =
      !single_line || value.size() > 70 || force_trailing_newline || force_leading_newline || trailing_triple_quotes;
  const bool skip_leading_newline = single_line && !value.empty() && is_whitespace(value.front());
  std::string result;
  if ((multiple_lines && !skip_leading_newline) || force_leading_newline) result += '\n';
  result += escaped;
  if (multiple_lines || force_trailing_newline) result += '\n';
  return "\"\"\"" + result + "\"\"\"";
}

}  // namespace

int natural_compare(std::string_view a, std::string_view b) {
  std::size_t i = 0;
  std::size_t j = 0;
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      std::uint64_t x = 0;
      do {
        x = x * 10 + static_cast<std::uint64_t>(a[i++] - '0');
      } while (i < a.size() && digit(a[i]) && x > 0);
      std::uint64_t y = 0;
      do {
        y = y * 10 + static_cast<std::uint64_t>(b[j++] - '0');
      } while (j < b.size() && digit(b[j]) && y > 0);
      if (x != y) return x < y ? -1 : 1;
    } else {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
      ++i, ++j;
    }
  }
  return static_cast<int>(a.size() - i) - static_cast<int>(b.size() - j);
}

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Damerau-Levenshtein (optimal string alignment) distance, or -1 past `threshold`.
int lexical_distance(std::string_view input, std::string_view option, int threshold) {
  if (input == option) return 0;
  std::string a = lower(option);
  std::string b = lower(input);
  if (a == b) return 1;
  if (a.size() < b.size()) std::swap(a, b);
  const int a_length = static_cast<int>(a.size());
  const int b_length = static_cast<int>(b.size());
  if (a_length - b_length > threshold) return -1;
  std::vector<std::vector<int>> rows(3, std::vector<int>(static_cast<std::size_t>(b_length) + 1, 0));
  for (int j = 0; j <= b_length; ++j) rows[0][static_cast<std::size_t>(j)] = j;
  for (int i = 1; i <= a_length; ++i) {
    auto& up = rows[static_cast<std::size_t>((i - 1) % 3)];
    auto& current = rows[static_cast<std::size_t>(i % 3)];
    int smallest = current[0] = i;
    for (int j = 1; j <= b_length; ++j) {
      const auto uj = static_cast<std::size_t>(j);
      const int cost = a[static_cast<std::size_t>(i - 1)] == b[uj - 1] ? 0 : 1;
      int cell = std::min({up[uj] + 1, current[uj - 1] + 1, up[uj - 1] + cost});
      if (i > 1 && j > 1 && a[static_cast<std::size_t>(i - 1)] == b[uj - 2] && a[static_cast<std::size_t>(i - 2)] == b[uj - 1]) {
        cell = std::min(cell, rows[static_cast<std::size_t>((i - 2) % 3)][uj - 2] + 1);
      }
      smallest = std::min(smallest, cell);
      current[uj] = cell;
    }
    if (smallest > threshold) return -1;
  }
  const int distance = rows[static_cast<std::size_t>(a_length % 3)][static_cast<std::size_t>(b_length)];
  return distance <= threshold ? distance : -1;
}

}  // namespace

std::string js_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0) return "0";
  char buffer[64];
  // The shortest digits that read back as the same double, as ECMAScript requires.
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  std::string_view text(buffer, static_cast<std::size_t>(result.ptr - buffer));
  std::string sign;
  if (text.front() == '-') {
    sign = "-";
    text.remove_prefix(1);
  }
  const std::size_t e = text.find('e');
  std::string digits;
  for (char c : text.substr(0, e)) {
    if (c != '.') digits += c;
  }
  const int exponent = std::stoi(std::string(text.substr(e + 1)));
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;  // value = 0.digits * 10^n
  std::string out = sign;
  if (k <= n && n <= 21) {
    out += digits + std::string(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(n)) + "." + digits.substr(static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += fmt::format("e{}{}", n - 1 >= 0 ? "+" : "-", std::abs(n - 1));
  }
  return out;
}

std::string inspect(const boost::json::value& value) {
  std::string out;
  inspect_into(value, 1, out);
  return out;
}

namespace {
// The characters a JSON string writes escaped: controls, '"' and '\\'.
constexpr std::array<bool, 256> kEscaped = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = true;
  table['"'] = table['\\'] = true;
  return table;
}();
}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size() + 2);
  out += '"';
  const char* run = text.data();  // start of the characters appended as they are
  const char* const end = text.data() + text.size();
  for (const char* p = run; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (!kEscaped[c]) continue;
    out.append(run, static_cast<std::size_t>(p - run));
    run = p + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
      }
    }
  }
  out.append(run, static_cast<std::size_t>(end - run));
  out += '"';
}

std::string json_quote(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

std::string print_string_literal(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += fmt::format("\\u{:04X}", c);
        } else if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
          // U+0080..U+009F, the C1 controls, escaped as graphql-js does
          out += fmt::format("\\u{:04X}", static_cast<unsigned char>(text[++i]));
        } else {
          out += text[i];
        }
    }
  }
  out += '"';
  return out;
}

std::string print_value(const Value& value) {
  switch (value.kind) {
    case Value::Kind::variable: return "$" + std::string(value.raw);
    case Value::Kind::int_number:
    case Value::Kind::float_number:
    case Value::Kind::enum_value: return std::string(value.raw);
    case Value::Kind::string: return value.block ? print_block_string(value.string) : print_string_literal(value.string);
    case Value::Kind::boolean: return value.boolean ? "true" : "false";
    case Value::Kind::null: return "null";
    case Value::Kind::list: {
      std::string out = "[";
      for (std::size_t i = 0; i < value.items.size(); ++i) {
        if (i) out += ", ";
        out += print_value(value.items[i]);
      }
      return out + "]";
    }
    case Value::Kind::object: {
      std::string out = "{";
      for (std::size_t i = 0; i < value.fields.size(); ++i) {
        if (i) out += ", ";
        out += std::string(value.fields[i].name) + ": " + print_value(value.fields[i].value);
      }
      return out + "}";
    }
  }
  return {};
}

std::vector<std::string> suggestion_list(std::string_view input, const std::vector<std::string_view>& options) {
  const int threshold = static_cast<int>(input.size() * 4 / 10) + 1;
  std::map<std::string_view, int> by_distance;  // an option listed twice counts once
  std::vector<std::string_view> order;
  for (std::string_view option : options) {
    const int distance = lexical_distance(input, option, threshold);
    if (distance < 0) continue;
    if (by_distance.emplace(option, distance).second) order.push_back(option);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::string_view a, std::string_view b) {
    const int diff = by_distance[a] - by_distance[b];
    return diff != 0 ? diff < 0 : natural_compare(a, b) < 0;
  });
  return {order.begin(), order.end()};
}

std::string did_you_mean(const std::vector<std::string>& suggestions, std::string_view sub_message) {
  if (suggestions.empty()) return {};
  std::string message = " Did you mean ";
  if (!sub_message.empty()) message += std::string(sub_message) + " ";
  const auto quoted = [](const std::string& s) { return "\"" + s + "\""; };
  if (suggestions.size() == 1) return message + quoted(suggestions[0]) + "?";
  if (suggestions.size() == 2) return message + quoted(suggestions[0]) + " or " + quoted(suggestions[1]) + "?";
  const std::size_t shown = std::min<std::size_t>(5, suggestions.size());
  for (std::size_t i = 0; i + 1 < shown; ++i) message += quoted(suggestions[i]) + ", ";
  return message + "or " + quoted(suggestions[shown - 1]) + "?";
}

void write_json(const boost::json::value& value, std::string& out) {
  switch (value.kind()) {
    case boost::json::kind::double_:
      out += std::isfinite(value.get_double()) ? js_number(value.get_double()) : "null";
      return;
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : value.get_array()) {
        if (!first) out += ',';
        first = false;
        write_json(item, out);
      }
      out += ']';
      return;
    }
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& member : value.get_object()) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, member.key());
        out += ':';
        write_json(member.value(), out);
      }
      out += '}';
      return;
    }
    case boost::json::kind::string:
      append_json_string(out, value.get_string());
      return;
    case boost::json::kind::int64: {
      char buffer[24];
      const auto r = std::to_chars(buffer, buffer + sizeof buffer, value.get_int64());
      out.append(buffer, static_cast<std::size_t>(r.ptr - buffer));
      return;
    }
    case boost::json::kind::bool_:
      out += value.get_bool() ? "true" : "false";
      return;
    case boost::json::kind::null:
      out += "null";
      return;
    default:
      out += boost::json::serialize(value);
      return;
  }
}

std::string to_json_text(const boost::json::value& value) {
  std::string out;
  write_json(value, out);
  return out;
}

}  // namespace portico::graphql
