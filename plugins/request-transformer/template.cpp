#include "plugins/request-transformer/template.hpp"

#include "http/header_view.hpp"
#include "http/params.hpp"
#include "plugin/request_context.hpp"

namespace portico::plugins::request_transformer {
namespace {

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

void skip_space(std::string_view s, std::size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

// A Lua string literal at s[i] ('...' or "..."); i moves past it.
bool read_string(std::string_view s, std::size_t& i, std::string& out) {
  char quote = s[i++];
  out.clear();
  while (i < s.size() && s[i] != quote) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i++];
  }
  if (i >= s.size()) return false;
  ++i;
  return true;
}

// Header names as Kong's get_headers() table reads them: case-insensitive, '_' as '-'.
bool same_header(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] == '_' ? '-' : a[i], y = b[i] == '_' ? '-' : b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

}  // namespace

bool Template::parse_expression(std::string_view text, Expression& out, std::string& error) {
  std::size_t i = 0;
  for (;;) {
    skip_space(text, i);
    if (i >= text.size()) {
      error = "an expression is missing";
      return false;
    }
    Operand operand;
    if (text[i] == '\'' || text[i] == '"') {
      if (!read_string(text, i, operand.key)) {
        error = "unfinished string";
        return false;
      }
    } else {
      std::size_t start = i;
      while (i < text.size() && is_ident_char(text[i])) ++i;
      std::string_view name = text.substr(start, i - start);
      if (name == "headers") operand.source = Source::header;
      else if (name == "query_params") operand.source = Source::query;
      else if (name == "uri_captures") operand.source = Source::capture;
      else if (name == "consumer") operand.source = Source::consumer;
      else {
        error = "'" + std::string(name.empty() ? text.substr(start) : name) +
                "' is not a source Portico reads (headers, query_params, uri_captures, consumer, or a quoted string)";
        return false;
      }
      skip_space(text, i);
      if (i < text.size() && text[i] == '.') {
        std::size_t key_start = ++i;
        while (i < text.size() && is_ident_char(text[i])) ++i;
        operand.key = std::string(text.substr(key_start, i - key_start));
      } else if (i < text.size() && text[i] == '[') {
        ++i;
        skip_space(text, i);
        if (i < text.size() && (text[i] == '\'' || text[i] == '"')) {
          if (!read_string(text, i, operand.key)) {
            error = "unfinished string";
            return false;
          }
        } else {
          std::size_t key_start = i;
          while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
          operand.key = std::string(text.substr(key_start, i - key_start));
        }
        skip_space(text, i);
        if (i >= text.size() || text[i] != ']') {
          error = "expected ']'";
          return false;
        }
        ++i;
      }
      if (operand.key.empty()) {
        error = "'" + std::string(name) + "' needs a name: " + std::string(name) + ".x or " + std::string(name) + "[\"x\"]";
        return false;
      }
      if (operand.source == Source::consumer && operand.key != "id" && operand.key != "username" &&
          operand.key != "custom_id") {
        error = "consumer has id, username and custom_id";
        return false;
      }
    }
    out.alternatives.push_back(std::move(operand));
    skip_space(text, i);
    if (i == text.size()) return true;
    if (text.substr(i, 2) == "or" && (i + 2 == text.size() || !is_ident_char(text[i + 2]))) {
      i += 2;
      continue;
    }
    error = "unexpected '" + std::string(text.substr(i)) + "' (Portico reads sources joined by `or`, not Lua)";
    return false;
  }
}

std::optional<Template> Template::parse(std::string_view text, std::string& error) {
  Template t;
  std::size_t i = 0;
  std::string literal;
  while (i < text.size()) {
    std::size_t open = text.find("$(", i);
    if (open == std::string_view::npos) {
      literal.append(text.substr(i));
      break;
    }
    literal.append(text.substr(i, open - i));
    // The expression ends at the parenthesis that balances "$(" (Lua's %b()).
    std::size_t depth = 1, j = open + 2;
    for (; j < text.size() && depth > 0; ++j) {
      if (text[j] == '(') ++depth;
      else if (text[j] == ')') --depth;
    }
    if (depth != 0) {
      error = "unbalanced $(";
      return std::nullopt;
    }
    Expression e;
    if (!parse_expression(text.substr(open + 2, j - 1 - (open + 2)), e, error)) return std::nullopt;
    if (!literal.empty()) t.pieces_.push_back({std::move(literal), -1});
    literal.clear();
    t.pieces_.push_back({{}, static_cast<int>(t.expressions_.size())});
    t.expressions_.push_back(std::move(e));
    i = j;
  }
  if (!literal.empty()) t.pieces_.push_back({std::move(literal), -1});
  return t;
}

void Template::render(const plugin::RequestContext& ctx, std::string& out) const {
  for (const auto& piece : pieces_) {
    if (piece.expression < 0) {
      out += piece.literal;
      continue;
    }
    for (const auto& operand : expressions_[static_cast<std::size_t>(piece.expression)].alternatives) {
      bool found = false;
      auto add = [&](std::string_view value) {
        if (found) out += ", ";
        out += value;
        found = true;
      };
      switch (operand.source) {
        case Source::literal: add(operand.key); break;
        case Source::header:
          for (const auto& h : ctx.request().headers) {
            if (same_header(h.name, operand.key)) add(h.value);
          }
          break;
        case Source::query: {
          std::string key, value;
          http::for_each_query_arg(ctx.request().query, [&](std::string_view k, std::string_view v) {
            if (http::percent_decode(k, key) && key == operand.key) add(http::percent_decode(v, value) ? value : v);
          });
          break;
        }
        case Source::capture:
          if (auto capture = ctx.path_capture(operand.key)) add(*capture);
          break;
        case Source::consumer:
          if (const auto* c = ctx.consumer()) {
            const std::string& v = operand.key == "id" ? c->id : operand.key == "username" ? c->username : c->custom_id;
            if (!v.empty()) add(v);  // an unset username or custom_id is not there
          }
          break;
      }
      if (found) break;  // `or`: the first that is there
    }
  }
}

}  // namespace portico::plugins::request_transformer
