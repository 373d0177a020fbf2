// Random (version 4) UUIDs: node ids and the ids of entities created through the Admin API;
// random request ids.
#pragma once

#include <cstdint>
#include <string>

namespace portico {

std::string random_uuid();
// 128 random bits as 32 lower-case hex digits (request ids, as nginx's $request_id).
void random_hex_id(char (&out)[32]);
// 64 random bits from a per-thread generator (request ids, trace and span ids): unique, not secret.
std::uint64_t fast_random64();
// This process's node id (a random UUID drawn once): Kong's node id, in metrics and traces.
const std::string& process_node_id();
bool is_uuid(std::string_view text);  // 8-4-4-4-12 hex digits

}  // namespace portico
