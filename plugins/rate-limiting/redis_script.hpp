// The `redis` policy's decision: limits.cpp's algorithms as one Lua script that Redis runs
// atomically, so every node's requests for one key are decided one after the other with no
// read-then-increment race (Kong's redis policy reads, then increments, and admits more than
// the limit under concurrency). The clock is the calling node's (passed in), as Kong's.
#pragma once

#include <string>
#include <vector>

#include "net/redis_client.hpp"
#include "plugins/rate-limiting/limits.hpp"

namespace portico::plugins::ratelimit {

const std::string& decision_script();      // the Lua source
const std::string& decision_script_sha1();  // for EVALSHA

// EVALSHA's arguments (without the command name and the script's hash) for one decision:
// one key per window, `key_prefix` + the window's name.
std::vector<std::string> decision_args(Algorithm algorithm, const std::vector<WindowLimit>& limits,
                                       const std::string& key_prefix, std::int64_t now_ms);

// The script's reply into `out`; false (with `why`) when it is not the script's shape.
bool read_decision(const net::RedisValue& reply, const std::vector<WindowLimit>& limits, Decision& out, std::string& why);

}  // namespace portico::plugins::ratelimit
