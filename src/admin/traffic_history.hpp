// The last 15 minutes of traffic, one point a second, for the dashboard's charts: overall, per
// service and per route (scopes "", "service:NAME", "route:NAME"). Each second the control
// thread reads the recorder's totals (obs/route_traffic.hpp), keeps the difference from the
// previous reading and turns the latency histogram of that second into p50/p95/p99.
//
// Memory is bounded: a scope gets its ring of 900 points when it first has traffic, at most
// kMaxScopes of them (the points of the others are counted in points_dropped), and a scope idle
// for 15 minutes gives its ring back.
#pragma once

#include <array>
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "obs/route_traffic.hpp"

namespace portico::admin {

class TrafficHistory {
 public:
  static constexpr std::int64_t kSeconds = 900;
  static constexpr std::size_t kMaxScopes = 256;

  // Adds the point of `second` (unix time) from the recorder's cumulative totals. The first
  // call only sets the baseline (what was counted before the history started is not a second's).
  void sample(std::int64_t second, const std::unordered_map<std::string, obs::route_traffic::Totals>& totals,
              std::uint64_t active_connections);

  // {"end", "step", "time": [...], "requests", "client_errors", "server_errors", "p50", "p95",
  //  "p99" (null where no request), "connections" (overall only)} over the last `seconds`
  // (1..900) up to the last sample; nullopt for a scope with no history.
  std::optional<boost::json::object> series(std::string_view scope, std::int64_t seconds) const;

  // Every service and route with traffic in the last 15 minutes: requests and errors in the last
  // minute and in the 15 minutes, its last second's p99; and the same for the whole gateway.
  boost::json::object top() const;

  std::uint64_t points_dropped() const { return points_dropped_; }
  std::int64_t last_second() const { return last_second_; }

 private:
  struct Point {
    std::int64_t at = -1;  // the second this slot holds; another value: no point for it
    std::uint32_t requests = 0, client_errors = 0, server_errors = 0, connections = 0;
    float p50 = 0, p95 = 0, p99 = 0;
  };
  struct Ring {
    std::array<Point, kSeconds> points{};
    std::int64_t last_traffic = 0;
    static std::size_t slot(std::int64_t second) { return static_cast<std::size_t>(((second % kSeconds) + kSeconds) % kSeconds); }
    const Point* at(std::int64_t second) const {
      const Point& p = points[slot(second)];
      return p.at == second ? &p : nullptr;
    }
  };
  Ring* ring_for(const std::string& scope, std::int64_t second);
  void record(Ring& ring, std::int64_t second, const obs::route_traffic::Totals& delta);
  boost::json::object summary(const Ring& ring) const;

  bool primed_ = false;
  std::int64_t last_second_ = 0;
  std::unordered_map<std::string, obs::route_traffic::Totals> previous_;  // by recorder key
  std::map<std::string, std::unique_ptr<Ring>, std::less<>> rings_;       // by scope
  std::uint64_t points_dropped_ = 0;
};

}  // namespace portico::admin
