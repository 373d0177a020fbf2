#include "config/kong_regex.hpp"

namespace portico::config {

namespace {

constexpr std::string_view kWhy = ": regexes run on RE2, which matches in linear time without backtracking";

Error config_error(std::string message) {
  return Error{ErrorKind::config, ErrorOrigin::internal, 500, false, std::move(message)};
}

Error unsupported(const std::string& what) { return config_error(what + " is not supported" + std::string(kWhy)); }

char at(std::string_view s, std::size_t i) { return i < s.size() ? s[i] : '\0'; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_name_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

// Length of the group name that starts at s[from] and is closed by `close`, or 0 when
// there is no such name (RE2 would then quote its own spelling, "(?P<", to the user).
std::size_t group_name_length(std::string_view s, std::size_t from, char close) {
  std::size_t end = from;
  while (is_name_char(at(s, end))) ++end;
  return end > from && at(s, end) == close ? end - from : 0;
}

// Index just past the character class that opens at s[open] ('['), or s.size() when it is
// not closed (RE2 then reports the missing ']'). A ']' first in the class (after an
// optional '^') is a literal, escapes are skipped, and "[:alpha:]" is one item.
std::size_t class_end(std::string_view s, std::size_t open) {
  std::size_t i = open + 1;
  if (at(s, i) == '^') ++i;
  if (at(s, i) == ']') ++i;
  while (i < s.size()) {
    char c = s[i];
    if (c == '\\') {
      i += 2;
    } else if (c == '[' && at(s, i + 1) == ':') {
      std::size_t close = s.find(":]", i + 2);
      i = close == std::string_view::npos ? i + 1 : close + 2;
    } else if (c == ']') {
      return i + 1;
    } else {
      ++i;
    }
  }
  return s.size();
}

// An escape outside a character class that refers back to a group (PCRE: \1..\9, \g1,
// \g{name}, \k<name>, \k{name}, \k'name'). Two or more digits (\12) are left to RE2,
// which reads them as an octal character code, as PCRE does without that many groups.
bool is_backreference(std::string_view s, std::size_t backslash) {
  char d = at(s, backslash + 1);
  char e = at(s, backslash + 2);
  if (is_digit(d) && d != '0') return !is_digit(e);
  if (d == 'g') return is_digit(e) || e == '{' || e == '-' || e == '<' || e == '\'';
  if (d == 'k') return e == '<' || e == '{' || e == '\'';
  return false;
}

}  // namespace

Result<std::string> translate_kong_regex(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '\\') {
      if (at(s, i + 1) == 'Q') {  // literal text up to \E (or the end)
        std::size_t end = s.find("\\E", i + 2);
        end = end == std::string_view::npos ? s.size() : end + 2;
        out.append(s.substr(i, end - i));
        i = end;
        continue;
      }
      if (is_backreference(s, i)) return unsupported("backreference '" + std::string(s.substr(i, 2)) + "'");
      out.append(s.substr(i, std::min<std::size_t>(2, s.size() - i)));
      i += 2;
      continue;
    }
    if (c == '[') {
      std::size_t end = class_end(s, i);
      out.append(s.substr(i, end - i));
      i = end;
      continue;
    }
    if (c == '(' && at(s, i + 1) == '?') {
      char kind = at(s, i + 2);
      char next = at(s, i + 3);
      if (kind == '<' && (next == '=' || next == '!')) {
        return unsupported(std::string("lookbehind '(?<") + next + "'");
      }
      if (kind == '=' || kind == '!') return unsupported(std::string("lookahead '(?") + kind + "'");
      if (kind == 'P' && next == '=') return unsupported("backreference '(?P='");
      if (kind == '<' || kind == '\'') {  // (?<name> or (?'name'  ->  (?P<name>
        char close = kind == '<' ? '>' : '\'';
        std::size_t name = group_name_length(s, i + 3, close);
        if (name == 0) {
          return config_error(std::string("invalid named group '(?") + kind + "': expected a name of letters, digits and '_' closed by '" +
                              close + "'");
        }
        out.append("(?P<").append(s.substr(i + 3, name)).append(">");
        i += 3 + name + 1;
        continue;
      }
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

Result<std::shared_ptr<re2::RE2>> compile_kong_regex(std::string_view kong, RE2::Options options) {
  auto quoted = [&](const std::string& why) { return config_error("invalid regex '" + std::string(kong) + "': " + why); };
  Result<std::string> translated = translate_kong_regex(kong);
  if (!translated.ok()) return quoted(translated.error().message);
  options.set_log_errors(false);
  auto re = std::make_shared<re2::RE2>(*translated, options);
  if (!re->ok()) return quoted(re->error());
  return re;
}

}  // namespace portico::config
