#include "crypto/base64.hpp"

#include <array>

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
  out.clear();
  if (in.size() % 4 == 1) return false;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = table[static_cast<unsigned char>(c)];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return (acc & ((1u << bits) - 1)) == 0;
}

}  // namespace

bool base64_decode(std::string_view in, std::string& out) {
  if (in.size() % 4 != 0) return false;
  std::size_t pad = 0;
  while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
  return decode(in.substr(0, in.size() - pad), out, kStandard);
}

bool base64url_decode(std::string_view in, std::string& out) { return decode(in, out, kUrl); }

std::string base64url_encode(std::string_view in) {
  static constexpr char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
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
  return out;
}

}  // namespace portico::crypto
