// What the process asks of the system in several places: this host's name, the time in unix
// seconds.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace portico {

// gethostname(), or "" when it fails.
inline std::string host_name() {
  char name[256] = {};
  return ::gethostname(name, sizeof name - 1) == 0 ? std::string(name) : std::string();
}

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace portico
