#include "obs/log_escape.hpp"

#include <array>
#include <cstring>

namespace portico::obs {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr std::uint64_t kOnes = 0x0101010101010101ull;
constexpr std::uint64_t kHighBits = 0x8080808080808080ull;

// Word tests without a loop over the bytes. Each may report a byte that does not need
// escaping (the bytes are then looked at one by one), never miss one that does.
constexpr std::uint64_t has_byte_below(std::uint64_t w, std::uint8_t n) { return (w - kOnes * n) & ~w & kHighBits; }
constexpr std::uint64_t has_byte(std::uint64_t w, std::uint8_t b) {
  std::uint64_t x = w ^ (kOnes * b);
  return (x - kOnes) & ~x & kHighBits;
}
constexpr std::uint64_t has_byte_from_7f(std::uint64_t w) { return ((w + kOnes) | w) & kHighBits; }

bool word_needs_escape(std::uint64_t w, bool json) {
  std::uint64_t found = has_byte_below(w, 0x20) | has_byte(w, '"') | has_byte(w, '\\');
  if (!json) found |= has_byte_from_7f(w);
  return found != 0;
}

constexpr auto kStandardEscaped = [] {
  std::array<bool, 256> escaped{};
  for (int c = 0; c < 256; ++c) escaped[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x7F;
  return escaped;
}();

// One byte, escaped if it must be; `at` has room for 6 bytes.
char* put_byte(char* at, char c, bool json) {
  auto u = static_cast<unsigned char>(c);
  if (!json) {
    if (!kStandardEscaped[u]) {
      *at = c;
      return at + 1;
    }
    at[0] = '\\', at[1] = 'x', at[2] = kHex[u >> 4], at[3] = kHex[u & 15];
    return at + 4;
  }
  if (c != '"' && c != '\\' && u >= 0x20) {
    *at = c;
    return at + 1;
  }
  at[0] = '\\';
  if (c == '"' || c == '\\') at[1] = c;
  else if (c == '\n') at[1] = 'n';
  else if (c == '\r') at[1] = 'r';
  else if (c == '\t') at[1] = 't';
  else {
    std::memcpy(at + 1, "u00", 3);
    at[4] = kHex[u >> 4], at[5] = kHex[u & 15];
    return at + 6;
  }
  return at + 2;
}

}  // namespace

void append_escaped(LineBuffer& out, std::string_view value, LogEscape escape) {
  if (escape == LogEscape::none) {
    out.append(value);
    return;
  }
  const bool json = escape == LogEscape::json;
  // Room for the worst case (every byte escaped: 6 bytes each in JSON), a slice at a time, so
  // a huge header does not grow the buffer six-fold at once.
  constexpr std::size_t kSlice = 1024;
  for (std::size_t from = 0; from < value.size(); from += kSlice) {
    const char* in = value.data() + from;
    const std::size_t size = std::min(kSlice, value.size() - from);
    char* const begin = out.room(size * 6);
    char* at = begin;
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
      std::uint64_t word;
      std::memcpy(&word, in + i, 8);
      if (!word_needs_escape(word, json)) {
        std::memcpy(at, &word, 8);
        at += 8;
        continue;
      }
      for (std::size_t k = 0; k < 8; ++k) at = put_byte(at, in[i + k], json);
    }
    for (; i < size; ++i) at = put_byte(at, in[i], json);
    out.commit(static_cast<std::size_t>(at - begin));
  }
}

}  // namespace portico::obs
