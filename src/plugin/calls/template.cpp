#include "plugin/calls/template.hpp"

#include "http/status.hpp"

namespace portico::plugin::calls {
namespace {

// `|join:SEP` after a reference's name: the separator (any characters but '}').
std::optional<std::string> join_of(std::string_view& inside) {
  const std::size_t bar = inside.find('|');
  if (bar == std::string_view::npos) return std::nullopt;
  std::string_view filter = inside.substr(bar + 1);
  inside = inside.substr(0, bar);
  if (!filter.starts_with("join:")) return std::string("\x01");  // marks an unknown filter
  return std::string(filter.substr(5));
}

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
    const std::string_view written = inside;
    std::optional<std::string> join = join_of(inside);
    if (join && *join == "\x01") {
      error = "'{" + std::string(written) + "}' has an unknown filter (the one filter is |join:SEPARATOR)";
      return std::nullopt;
    }
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
    t.references_.push_back({std::string(inside.substr(0, dot)), std::string(inside.substr(dot + 1)), std::move(join)});
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
    // A list's items are encoded one by one, joined by the reference's separator (as
    // written) or by commas (encoded with the rest).
    const std::string_view separator = ref.join ? std::string_view(*ref.join) : std::string_view(",");
    std::string_view rest = *value;
    std::string unjoined;
    bool first = true;
    while (true) {
      const std::size_t end = rest.find(kItemSeparator);
      const std::string_view item = rest.substr(0, end);
      if (ref.join) {
        if (!first) out.text += separator;
        append_encoded(out.text, item, encoding);
      } else {
        if (!first) unjoined += separator;
        unjoined += item;
      }
      first = false;
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end + 1);
    }
    if (!ref.join) append_encoded(out.text, unjoined, encoding);
  }
  return out;
}

void Template::append_encoded(std::string& out, std::string_view value, Encoding encoding) {
  switch (encoding) {
    case Encoding::url: out += percent_encode(value); break;
    case Encoding::json_string: http::append_json_escaped(out, value); break;  // inside a JSON string (RFC 8259 7)
    case Encoding::plain: out += value; break;
  }
}


}  // namespace portico::plugin::calls
