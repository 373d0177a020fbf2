#include "core/uuid.hpp"

#include <array>
#include <cctype>
#include <random>

#include "core/hex.hpp"

namespace portico {

namespace {
// One generator per thread, seeded once from the OS (random_device per call is slow): no
// lock, so workers can draw ids on the request path (request ids, correlation-id).
std::mt19937_64& engine() {
  thread_local std::mt19937_64 engine{(static_cast<std::uint64_t>(std::random_device{}()) << 32) ^
                                      std::random_device{}()};
  return engine;
}
constexpr const char* kHex = "0123456789abcdef";
}  // namespace

namespace detail {
std::uint64_t fast_random_seed() { return engine()() | 1; }
}  // namespace detail

void random_hex_id(char (&out)[32]) {
  std::uint8_t bytes[16];
  for (int half = 0; half < 2; ++half) {
    std::uint64_t word = fast_random64();
    for (int i = 0; i < 8; ++i) bytes[half * 8 + i] = static_cast<std::uint8_t>(word >> (56 - i * 8));
  }
  write_hex(out, bytes, sizeof bytes);
}

const std::string& process_node_id() {
  static const std::string id = random_uuid();
  return id;
}

std::string random_uuid() {
  std::uint64_t hi = engine()();
  std::uint64_t lo = engine()();
  hi = (hi & ~0xF000ull) | 0x4000ull;                              // version 4
  lo = (lo & ~(0xC000ull << 48)) | (0x8000ull << 48);              // variant 10
  const char* hex = kHex;
  std::string s;
  s.reserve(36);
  for (int i = 15; i >= 0; --i) {
    s += hex[(hi >> (i * 4)) & 0xF];
    if (i == 8 || i == 4) s += '-';
  }
  s += '-';
  for (int i = 15; i >= 0; --i) {
    s += hex[(lo >> (i * 4)) & 0xF];
    if (i == 12) s += '-';
  }
  return s;
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

}  // namespace portico
