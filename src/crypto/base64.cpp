#include "crypto/base64.hpp"

#include <array>
#include <cstdint>

namespace portico::crypto {
namespace {

constexpr std::array<signed char, 256> make_table(bool url) {
  std::array<signed char, 256> t{};
  for (auto& v : t) v = -1;
  const char* letters = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                            : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(letters[i])] = static_cast<signed char>(i);
  return t;
}
constexpr auto kStandard = make_table(false);
constexpr auto kUrl = make_table(true);

// Decodes `in` (no padding) with `table`; rejects a length of 1 mod 4 and non-zero
// leftover bits (a non-canonical spelling).
bool decode(std::string_view in, std::string& out, const std::array<signed char, 256>& table) {
  if (in.size() % 4 == 1) return false;
  out.resize(in.size() / 4 * 3 + (in.size() % 4 == 0 ? 0 : in.size() % 4 - 1));
  auto value = [&table](char c) { return table[static_cast<unsigned char>(c)]; };
  const char* p = in.data();
  char* o = out.data();
  std::size_t full = in.size() / 4;
  for (std::size_t i = 0; i < full; ++i, p += 4, o += 3) {
    int a = value(p[0]), b = value(p[1]), c = value(p[2]), d = value(p[3]);
    if ((a | b | c | d) < 0) return false;
    std::uint32_t n = (static_cast<std::uint32_t>(a) << 18) | (static_cast<std::uint32_t>(b) << 12) |
                      (static_cast<std::uint32_t>(c) << 6) | static_cast<std::uint32_t>(d);
    o[0] = static_cast<char>(n >> 16);
    o[1] = static_cast<char>(n >> 8);
    o[2] = static_cast<char>(n);
  }
  std::size_t rest = in.size() % 4;
  if (rest == 0) return true;
  int a = value(p[0]), b = value(p[1]), c = rest == 3 ? value(p[2]) : 0;
  if ((a | b | c) < 0) return false;
  std::uint32_t n = (static_cast<std::uint32_t>(a) << 18) | (static_cast<std::uint32_t>(b) << 12) |
                    (static_cast<std::uint32_t>(c) << 6);
  o[0] = static_cast<char>(n >> 16);
  if (rest == 3) o[1] = static_cast<char>(n >> 8);
  // Leftover bits must be zero: one spelling per byte string.
  return rest == 2 ? (n & 0xFFFF) == 0 : (n & 0xFF) == 0;
}

}  // namespace

bool base64_decode(std::string_view in, std::string& out) {
  if (in.size() % 4 != 0) return false;
  std::size_t pad = 0;
  while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
  return decode(in.substr(0, in.size() - pad), out, kStandard);
}

bool base64url_decode(std::string_view in, std::string& out) { return decode(in, out, kUrl); }

namespace {
std::string encode(std::string_view in, const char* letters, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(letters[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(letters[(acc << (6 - bits)) & 63]);
  while (pad && out.size() % 4 != 0) out.push_back('=');
  return out;
}
}  // namespace

std::string base64url_encode(std::string_view in) {
  return encode(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", false);
}

std::string base64_encode(std::string_view in) {
  return encode(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", true);
}

}  // namespace portico::crypto
