// For fuzz targets' round-trip properties over JSON: two values are the same but for doubles,
// which need only be as close as Boost.JSON's number parsing makes them (not correctly
// rounded: a double printed and parsed again may differ in its last bits).
#pragma once

#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>

namespace portico::fuzz {

inline bool close_numbers(double x, double y) {
  return x == y || std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y));
}

inline bool json_close(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double()) return close_numbers(a.get_double(), b.get_double());
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto &p = a.get_array(), &q = b.get_array();
    if (p.size() != q.size()) return false;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (!json_close(p[i], q[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto &p = a.get_object(), &q = b.get_object();
    if (p.size() != q.size()) return false;
    for (const auto& member : p) {
      const boost::json::value* other = q.if_contains(member.key());
      if (other == nullptr || !json_close(member.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace portico::fuzz
