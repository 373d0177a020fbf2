// The GraphQL lexer (issue 17): the specification's lexical grammar (October 2021), with
// graphql-js 16's error messages, so a client sees the same "Syntax Error: ..." from Portico
// as from the reference implementation.
//
// Works on UTF-8 bytes. Whitespace, commas, comments and a byte order mark are skipped; strings
// are returned with their escapes resolved and block strings dedented. A malformed token throws
// SyntaxError with the byte offset it concerns.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace portico::graphql {

enum class TokenKind : std::uint8_t {
  start_of_file,
  end_of_file,
  bang,
  dollar,
  amp,
  paren_l,
  paren_r,
  spread,
  colon,
  equals,
  at,
  bracket_l,
  bracket_r,
  brace_l,
  pipe,
  brace_r,
  name,
  int_number,
  float_number,
  string,
  block_string,
};

// "Name", "\"{\"", "<EOF>": a token kind as graphql-js describes it in messages.
std::string describe(TokenKind kind);

struct Token {
  TokenKind kind = TokenKind::start_of_file;
  std::uint32_t start = 0;
  std::uint32_t end = 0;
  std::string_view raw;  // the token's text (names, numbers)
  std::string value;     // strings: the value

  bool has_value() const;
  // "Name \"foo\"", "\"}\"": how messages name the token.
  std::string describe() const;
};

// A syntax error: the message without its "Syntax Error: " prefix, and where.
class SyntaxError : public std::runtime_error {
 public:
  SyntaxError(std::uint32_t offset, const std::string& message) : std::runtime_error(message), offset_(offset) {}
  std::uint32_t offset() const { return offset_; }

 private:
  std::uint32_t offset_;
};

class Lexer {
 public:
  explicit Lexer(std::string_view source) : source_(source) {}

  const Token& token() const { return token_; }
  // Moves to the next significant token and returns it (an end_of_file token at the end,
  // again and again).
  const Token& advance();
  // The token after the current one, without moving.
  Token lookahead() const;

 private:
  Token read_token(std::uint32_t position) const;
  Token read_number(std::uint32_t start) const;
  Token read_string(std::uint32_t start) const;
  Token read_block_string(std::uint32_t start) const;
  std::uint32_t read_digits(std::uint32_t position) const;
  // The bytes of the string character at `position` (a UTF-8 sequence); throws on bytes that
  // are not one.
  std::uint32_t string_character_length(std::uint32_t position) const;
  // The code point at `position` as messages print it: "\"a\"", "U+00E9", "<EOF>".
  std::string print_code_point(std::uint32_t position) const;
  int byte_at(std::uint32_t position) const {
    return position < source_.size() ? static_cast<unsigned char>(source_[position]) : -1;
  }

  std::string_view source_;
  Token token_;
};

// Decodes the UTF-8 sequence at `position`: its code point and length in bytes; length 0 when
// the bytes there are not valid UTF-8 (or are a surrogate).
struct DecodedCodePoint {
  std::uint32_t code_point = 0;
  std::uint32_t length = 0;
};
DecodedCodePoint decode_utf8(std::string_view text, std::size_t position);

}  // namespace portico::graphql
