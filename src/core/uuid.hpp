// Random (version 4) UUIDs: node ids and the ids of entities created through the Admin API;
// random request ids.
#pragma once

#include <cstdint>
#include <string>

namespace portico {

std::string random_uuid();
// 128 random bits as 32 lower-case hex digits (request ids, as nginx's $request_id).
void random_hex_id(char (&out)[32]);
namespace detail {
std::uint64_t fast_random_seed();  // from the OS, never 0
}

// 64 random bits from a per-thread generator (request ids, trace and span ids): unique, not
// secret. splitmix64 over a per-thread state seeded from the OS on first use: a few
// instructions where the Mersenne twister costs a hundred; inline, as a traced request draws
// several.
inline std::uint64_t fast_random64() {
  thread_local std::uint64_t state = 0;
  if (state == 0) [[unlikely]] state = detail::fast_random_seed();
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// This process's node id (a random UUID drawn once): Kong's node id, in metrics and traces.
const std::string& process_node_id();
bool is_uuid(std::string_view text);  // 8-4-4-4-12 hex digits

}  // namespace portico
