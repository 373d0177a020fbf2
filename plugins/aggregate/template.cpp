#include "plugins/aggregate/template.hpp"

#include "http/status.hpp"

namespace portico::plugins::aggregate {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == '[' || c == ']' || c == '*';
}

}  // namespace

std::optional<Template> Template::parse(std::string_view text, std::string& error) {
  Template t;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) t.pieces_.push_back({std::move(literal), -1});
    literal.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        literal += '}';
        ++i;
        continue;
      }
      error = "unmatched '}' at " + std::to_string(i) + " (write '}}' for a literal brace)";
      return std::nullopt;
    }
    if (c != '{') {
      literal += c;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      literal += '{';
      ++i;
      continue;
    }
    std::size_t close = text.find('}', i);
    if (close == std::string_view::npos) {
      error = "unclosed '{' at " + std::to_string(i);
      return std::nullopt;
    }
    std::string_view inside = text.substr(i + 1, close - i - 1);
    std::size_t dot = inside.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == inside.size()) {
      error = "'{" + std::string(inside) + "}' is not {source.name} (e.g. {query.user_id})";
      return std::nullopt;
    }
    for (char n : inside) {
      if (!is_name_char(n)) {
        error = "'{" + std::string(inside) + "}' has a character not allowed in a reference";
        return std::nullopt;
      }
    }
    flush();
    t.references_.push_back({std::string(inside.substr(0, dot)), std::string(inside.substr(dot + 1))});
    t.pieces_.push_back({{}, static_cast<int>(t.references_.size() - 1)});
    i = close;
  }
  flush();
  return t;
}

Template::Result Template::render(const Lookup& lookup, Encoding encoding) const {
  Result out;
  for (const auto& piece : pieces_) {
    if (piece.reference < 0) {
      out.text += piece.literal;
      continue;
    }
    const Reference& ref = references_[static_cast<std::size_t>(piece.reference)];
    std::optional<std::string> value = lookup(ref);
    if (!value) {
      out.missing = &ref;
      return out;
    }
    if (encoding == Encoding::url) out.text += percent_encode(*value);
    else http::append_json_escaped(out.text, *value);  // the inside of a JSON string (RFC 8259 7)
  }
  return out;
}


}  // namespace portico::plugins::aggregate
