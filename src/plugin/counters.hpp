// Process-wide named counters that plugins publish; GET /status lists them with the
// gateway's own counters (e.g. circuit_rejected, jwt_jwks_refresh_failures).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::plugin {

// The counter named `name`, created at zero on first use. The reference stays valid for
// the life of the process: look it up once (e.g. in a function-local static), not per request.
std::atomic<std::uint64_t>& counter(std::string_view name);

// Every counter and its value, sorted by name.
std::vector<std::pair<std::string, std::uint64_t>> counter_values();

}  // namespace portico::plugin
