// Lower-case hex digits of bytes, written two at a time from a table of digit pairs: cheap
// enough for the request path (request ids, trace context headers).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace portico {

inline constexpr auto kHexDigitPairs = [] {
  std::array<char, 512> pairs{};
  for (int b = 0; b < 256; ++b) {
    pairs[static_cast<std::size_t>(b) * 2] = "0123456789abcdef"[b >> 4];
    pairs[static_cast<std::size_t>(b) * 2 + 1] = "0123456789abcdef"[b & 15];
  }
  return pairs;
}();

// Writes 2 * `size` digits at `out`; returns the end.
inline char* write_hex(char* out, const std::uint8_t* bytes, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i, out += 2) std::memcpy(out, &kHexDigitPairs[bytes[i] * 2u], 2);
  return out;
}

}  // namespace portico
