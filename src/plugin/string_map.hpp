// Hash maps keyed by std::string and searched with a string_view, for plugins' lookup
// tables (credentials, keys, cached tokens): no string is built per lookup.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace portico::plugin {

// A hash map keyed by std::string that is searched with a string_view (no copy per lookup).
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

}  // namespace portico::plugin
