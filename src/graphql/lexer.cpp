#include "graphql/lexer.hpp"

#include "core/utf8.hpp"

#include <fmt/format.h>

#include <limits>
#include <vector>

namespace portico::graphql {
namespace {

bool is_digit(int c) { return c >= '0' && c <= '9'; }
bool is_letter(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_name_start(int c) { return is_letter(c) || c == '_'; }
bool is_name_continue(int c) { return is_name_start(c) || is_digit(c); }
bool is_whitespace(int c) { return c == ' ' || c == '\t'; }

int hex_digit(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool is_scalar_value(std::uint32_t cp) { return cp <= 0xD7FF || (cp >= 0xE000 && cp <= 0x10FFFF); }

// The spec's block string value: common indentation removed from every line but the first,
// leading and trailing blank lines dropped, lines joined with '\n'.
std::string dedent_block_string(const std::vector<std::string>& lines) {
  std::size_t common_indent = std::numeric_limits<std::size_t>::max();
  std::ptrdiff_t first_non_empty = -1;
  std::ptrdiff_t last_non_empty = -1;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    std::size_t indent = 0;
    while (indent < line.size() && is_whitespace(line[indent])) ++indent;
    if (indent == line.size()) continue;
    if (first_non_empty < 0) first_non_empty = static_cast<std::ptrdiff_t>(i);
    last_non_empty = static_cast<std::ptrdiff_t>(i);
    if (i != 0 && indent < common_indent) common_indent = indent;
  }
  std::string out;
  const std::size_t from = first_non_empty < 0 ? 0 : static_cast<std::size_t>(first_non_empty);
  for (std::ptrdiff_t i = static_cast<std::ptrdiff_t>(from); i <= last_non_empty; ++i) {
    const std::string& line = lines[static_cast<std::size_t>(i)];
    if (i != static_cast<std::ptrdiff_t>(from)) out += '\n';
    if (i == 0) {
      out += line;
    } else if (common_indent < line.size()) {
      out.append(line, common_indent);
    }
  }
  return out;
}

}  // namespace

DecodedCodePoint decode_utf8(std::string_view text, std::size_t position) {
  const auto byte = [&](std::size_t i) -> std::uint32_t {
    return i < text.size() ? static_cast<unsigned char>(text[i]) : 0x100;
  };
  const std::uint32_t b0 = byte(position);
  if (b0 < 0x80) return {b0, 1};
  std::uint32_t length = 0;
  std::uint32_t cp = 0;
  std::uint32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    length = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    length = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    length = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return {};
  }
  for (std::uint32_t i = 1; i < length; ++i) {
    const std::uint32_t b = byte(position + i);
    if ((b & 0xC0) != 0x80) return {};
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || !is_scalar_value(cp)) return {};
  return {cp, length};
}


std::string describe(TokenKind kind) {
  switch (kind) {
    case TokenKind::start_of_file: return "<SOF>";
    case TokenKind::end_of_file: return "<EOF>";
    case TokenKind::bang: return "\"!\"";
    case TokenKind::dollar: return "\"$\"";
    case TokenKind::amp: return "\"&\"";
    case TokenKind::paren_l: return "\"(\"";
    case TokenKind::paren_r: return "\")\"";
    case TokenKind::spread: return "\"...\"";
    case TokenKind::colon: return "\":\"";
    case TokenKind::equals: return "\"=\"";
    case TokenKind::at: return "\"@\"";
    case TokenKind::bracket_l: return "\"[\"";
    case TokenKind::bracket_r: return "\"]\"";
    case TokenKind::brace_l: return "\"{\"";
    case TokenKind::pipe: return "\"|\"";
    case TokenKind::brace_r: return "\"}\"";
    case TokenKind::name: return "Name";
    case TokenKind::int_number: return "Int";
    case TokenKind::float_number: return "Float";
    case TokenKind::string: return "String";
    case TokenKind::block_string: return "BlockString";
  }
  return "?";
}

bool Token::has_value() const { return kind >= TokenKind::name; }

std::string Token::describe() const {
  std::string text = graphql::describe(kind);
  if (!has_value()) return text;
  const bool is_string = kind == TokenKind::string || kind == TokenKind::block_string;
  return text + " \"" + (is_string ? value : std::string(raw)) + "\"";
}

const Token& Lexer::advance() {
  if (token_.kind != TokenKind::end_of_file) token_ = read_token(token_.end);
  return token_;
}

Token Lexer::lookahead() const {
  if (token_.kind == TokenKind::end_of_file) return token_;
  return read_token(token_.end);
}

std::string Lexer::print_code_point(std::uint32_t position) const {
  if (position >= source_.size()) return "<EOF>";
  const int c = byte_at(position);
  if (c >= 0x20 && c <= 0x7E) return c == '"' ? "'\"'" : fmt::format("\"{}\"", static_cast<char>(c));
  const DecodedCodePoint decoded = decode_utf8(source_, position);
  // Bytes that are not UTF-8 have no code point; U+FFFD is what a decoder would have made.
  return fmt::format("U+{:04X}", decoded.length == 0 ? 0xFFFDu : decoded.code_point);
}

Token Lexer::read_token(std::uint32_t position) const {
  const auto size = static_cast<std::uint32_t>(source_.size());
  const auto punctuator = [&](TokenKind kind, std::uint32_t length) {
    Token t;
    t.kind = kind;
    t.start = position;
    t.end = position + length;
    return t;
  };
  while (position < size) {
    const int c = byte_at(position);
    switch (c) {
      case ' ':
      case '\t':
      case ',':
      case '\n':
      case '\r':
        ++position;
        continue;
      case 0xEF:  // U+FEFF, the byte order mark, is ignored like whitespace
        if (byte_at(position + 1) == 0xBB && byte_at(position + 2) == 0xBF) {
          position += 3;
          continue;
        }
        break;
      case '#':  // a comment runs to the end of the line
        while (position < size && byte_at(position) != '\n' && byte_at(position) != '\r') ++position;
        continue;
      case '!': return punctuator(TokenKind::bang, 1);
      case '$': return punctuator(TokenKind::dollar, 1);
      case '&': return punctuator(TokenKind::amp, 1);
      case '(': return punctuator(TokenKind::paren_l, 1);
      case ')': return punctuator(TokenKind::paren_r, 1);
      case '.':
        if (byte_at(position + 1) == '.' && byte_at(position + 2) == '.') return punctuator(TokenKind::spread, 3);
        break;
      case ':': return punctuator(TokenKind::colon, 1);
      case '=': return punctuator(TokenKind::equals, 1);
      case '@': return punctuator(TokenKind::at, 1);
      case '[': return punctuator(TokenKind::bracket_l, 1);
      case ']': return punctuator(TokenKind::bracket_r, 1);
      case '{': return punctuator(TokenKind::brace_l, 1);
      case '|': return punctuator(TokenKind::pipe, 1);
      case '}': return punctuator(TokenKind::brace_r, 1);
      case '"':
        if (byte_at(position + 1) == '"' && byte_at(position + 2) == '"') return read_block_string(position);
        return read_string(position);
      default:
        break;
    }
    if (is_digit(c) || c == '-') return read_number(position);
    if (is_name_start(c)) {
      std::uint32_t end = position + 1;
      while (end < size && is_name_continue(byte_at(end))) ++end;
      Token t;
      t.kind = TokenKind::name;
      t.start = position;
      t.end = end;
      t.raw = source_.substr(position, end - position);
      return t;
    }
    if (c == '\'') {
      throw SyntaxError(position, "Unexpected single quote character ('), did you mean to use a double quote (\")?");
    }
    const bool valid = c < 0x80 || decode_utf8(source_, position).length > 0;
    throw SyntaxError(position, fmt::format("{} character: {}.", valid ? "Unexpected" : "Invalid", print_code_point(position)));
  }
  Token t;
  t.kind = TokenKind::end_of_file;
  t.start = t.end = size;
  return t;
}

std::uint32_t Lexer::string_character_length(std::uint32_t position) const {
  if (byte_at(position) < 0x80) return 1;
  const DecodedCodePoint decoded = decode_utf8(source_, position);
  if (decoded.length == 0) {
    throw SyntaxError(position, fmt::format("Invalid character within String: {}.", print_code_point(position)));
  }
  return decoded.length;
}

std::uint32_t Lexer::read_digits(std::uint32_t position) const {
  if (!is_digit(byte_at(position))) {
    throw SyntaxError(position, fmt::format("Invalid number, expected digit but got: {}.", print_code_point(position)));
  }
  ++position;
  while (is_digit(byte_at(position))) ++position;
  return position;
}

Token Lexer::read_number(std::uint32_t start) const {
  std::uint32_t position = start;
  bool is_float = false;
  if (byte_at(position) == '-') ++position;
  if (byte_at(position) == '0') {
    ++position;
    if (is_digit(byte_at(position))) {
      throw SyntaxError(position, fmt::format("Invalid number, unexpected digit after 0: {}.", print_code_point(position)));
    }
  } else {
    position = read_digits(position);
  }
  if (byte_at(position) == '.') {
    is_float = true;
    position = read_digits(position + 1);
  }
  if (byte_at(position) == 'e' || byte_at(position) == 'E') {
    is_float = true;
    ++position;
    if (byte_at(position) == '+' || byte_at(position) == '-') ++position;
    position = read_digits(position);
  }
  if (byte_at(position) == '.' || is_name_start(byte_at(position))) {
    throw SyntaxError(position, fmt::format("Invalid number, expected digit but got: {}.", print_code_point(position)));
  }
  Token t;
  t.kind = is_float ? TokenKind::float_number : TokenKind::int_number;
  t.start = start;
  t.end = position;
  t.raw = source_.substr(start, position - start);
  return t;
}

Token Lexer::read_string(std::uint32_t start) const {
  const auto size = static_cast<std::uint32_t>(source_.size());
  std::uint32_t position = start + 1;
  std::uint32_t chunk_start = position;
  std::string value;
  while (position < size) {
    const int c = byte_at(position);
    if (c == '"') {
      value.append(source_.substr(chunk_start, position - chunk_start));
      Token t;
      t.kind = TokenKind::string;
      t.start = start;
      t.end = position + 1;
      t.value = std::move(value);
      return t;
    }
    if (c == '\\') {
      value.append(source_.substr(chunk_start, position - chunk_start));
      const int escaped = byte_at(position + 1);
      std::uint32_t length = 2;
      if (escaped == 'u' && byte_at(position + 2) == '{') {
        // \u{1F600}: up to 8 hex digits, a Unicode scalar value
        std::uint32_t point = 0;
        bool ok = false;
        length = 3;
        while (length < 12) {
          const int h = byte_at(position + length++);
          if (h == '}') {
            ok = length >= 5 && is_scalar_value(point);
            break;
          }
          const int digit = hex_digit(h);
          if (digit < 0 || point > 0x10FFFF) break;
          point = (point << 4) | static_cast<std::uint32_t>(digit);
        }
        if (!ok) {
          throw SyntaxError(position, fmt::format("Invalid Unicode escape sequence: \"{}\".",
                                                  source_.substr(position, std::min(length, size - position))));
        }
        append_utf8(value, point);
      } else if (escaped == 'u') {
        // \uXXXX, and JSON's surrogate pairs \uD83D\uDE00
        const auto read16 = [&](std::uint32_t at) -> int {
          int code = 0;
          for (std::uint32_t i = 0; i < 4; ++i) {
            const int digit = hex_digit(byte_at(at + i));
            if (digit < 0) return -1;
            code = (code << 4) | digit;
          }
          return code;
        };
        const int code = read16(position + 2);
        length = 6;
        if (code >= 0 && is_scalar_value(static_cast<std::uint32_t>(code))) {
          append_utf8(value, static_cast<std::uint32_t>(code));
        } else {
          const int trailing = (code >= 0xD800 && code <= 0xDBFF && byte_at(position + 6) == '\\' && byte_at(position + 7) == 'u')
                                   ? read16(position + 8)
                                   : -1;
          if (trailing < 0xDC00 || trailing > 0xDFFF) {
            throw SyntaxError(position, fmt::format("Invalid Unicode escape sequence: \"{}\".",
                                                    source_.substr(position, std::min<std::uint32_t>(6, size - position))));
          }
          append_utf8(value, 0x10000 + ((static_cast<std::uint32_t>(code) - 0xD800) << 10) +
                                 (static_cast<std::uint32_t>(trailing) - 0xDC00));
          length = 12;
        }
      } else {
        switch (escaped) {
          case '"': value += '"'; break;
          case '\\': value += '\\'; break;
          case '/': value += '/'; break;
          case 'b': value += '\b'; break;
          case 'f': value += '\f'; break;
          case 'n': value += '\n'; break;
          case 'r': value += '\r'; break;
          case 't': value += '\t'; break;
          default: {
            const DecodedCodePoint next = decode_utf8(source_, position + 1);
            const std::uint32_t shown = next.length == 0 ? 1 : next.length;
            throw SyntaxError(position, fmt::format("Invalid character escape sequence: \"{}\".",
                                                    source_.substr(position, std::min(1 + shown, size - position))));
          }
        }
      }
      position += length;
      chunk_start = position;
      continue;
    }
    if (c == '\n' || c == '\r') break;
    position += string_character_length(position);
  }
  throw SyntaxError(position, "Unterminated string.");
}

Token Lexer::read_block_string(std::uint32_t start) const {
  const auto size = static_cast<std::uint32_t>(source_.size());
  std::uint32_t position = start + 3;
  std::uint32_t chunk_start = position;
  std::string current_line;
  std::vector<std::string> lines;
  while (position < size) {
    const int c = byte_at(position);
    if (c == '"' && byte_at(position + 1) == '"' && byte_at(position + 2) == '"') {
      current_line.append(source_.substr(chunk_start, position - chunk_start));
      lines.push_back(std::move(current_line));
      Token t;
      t.kind = TokenKind::block_string;
      t.start = start;
      t.end = position + 3;
      t.value = dedent_block_string(lines);
      return t;
    }
    if (c == '\\' && byte_at(position + 1) == '"' && byte_at(position + 2) == '"' && byte_at(position + 3) == '"') {
      current_line.append(source_.substr(chunk_start, position - chunk_start));
      chunk_start = position + 1;  // keeps the quotes, drops the backslash
      position += 4;
      continue;
    }
    if (c == '\n' || c == '\r') {
      current_line.append(source_.substr(chunk_start, position - chunk_start));
      lines.push_back(std::move(current_line));
      current_line.clear();
      position += (c == '\r' && byte_at(position + 1) == '\n') ? 2 : 1;
      chunk_start = position;
      continue;
    }
    position += string_character_length(position);
  }
  throw SyntaxError(position, "Unterminated string.");
}

}  // namespace portico::graphql
