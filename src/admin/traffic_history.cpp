#include "admin/traffic_history.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <limits>

#include "obs/sharded_series.hpp"

namespace portico::admin {

namespace json = boost::json;
using obs::route_traffic::Totals;

namespace {

std::uint64_t since(std::uint64_t now, std::uint64_t before) { return now >= before ? now - before : now; }

Totals difference(const Totals& now, const Totals& before) {
  Totals d;
  d.requests = since(now.requests, before.requests);
  d.client_errors = since(now.client_errors, before.client_errors);
  d.server_errors = since(now.server_errors, before.server_errors);
  for (std::size_t i = 0; i < obs::route_traffic::kBuckets; ++i) d.latency[i] = since(now.latency[i], before.latency[i]);
  return d;
}

std::uint32_t clamp32(std::uint64_t n) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(n, std::numeric_limits<std::uint32_t>::max()));
}

// One decimal of a millisecond is what a chart shows; fewer digits in the JSON.
double rounded(float ms) { return static_cast<double>(static_cast<std::int64_t>(ms * 100.0f + 0.5f)) / 100.0; }

}  // namespace

void TrafficHistory::sample(std::int64_t second, const std::unordered_map<std::string, Totals>& totals,
                            std::uint64_t active_connections) {
  // A second already sampled (the wall clock stepped back): its point stays, and what was
  // counted since goes into the next second's.
  if (primed_ && second <= last_second_) return;
  std::map<std::string, Totals> deltas;  // by scope
  Totals& overall = deltas[""];
  for (const auto& [key, now] : totals) {
    Totals& before = previous_[key];
    Totals delta = difference(now, before);
    before = now;
    if (!primed_ || delta.requests == 0) continue;
    auto parts = obs::split_series_key(key);
    std::string_view service = parts.empty() ? "" : parts[0];
    std::string_view route = parts.size() < 2 ? "" : parts[1];
    overall.add(delta);
    deltas[route.empty() ? std::string("unmatched") : "route:" + std::string(route)].add(delta);
    if (!service.empty()) deltas["service:" + std::string(service)].add(delta);
  }
  if (!primed_) {
    primed_ = true;
    last_second_ = second;
    return;
  }
  for (const auto& [scope, delta] : deltas) {
    if (Ring* ring = ring_for(scope, second)) record(*ring, second, delta);
  }
  Ring& whole = *rings_.at("");
  whole.points[Ring::slot(second)].connections = clamp32(active_connections);
  whole.last_traffic = second;  // the overall ring is never given back
  std::erase_if(rings_, [&](const auto& entry) { return second - entry.second->last_traffic >= kSeconds; });
  last_second_ = second;
}

TrafficHistory::Ring* TrafficHistory::ring_for(const std::string& scope, std::int64_t second) {
  auto it = rings_.find(scope);
  if (it != rings_.end()) return it->second.get();
  if (!scope.empty() && rings_.size() >= kMaxScopes) {
    ++points_dropped_;
    return nullptr;
  }
  auto ring = std::make_unique<Ring>();
  ring->last_traffic = second;
  return rings_.emplace(scope, std::move(ring)).first->second.get();
}

void TrafficHistory::record(Ring& ring, std::int64_t second, const Totals& delta) {
  Point& p = ring.points[Ring::slot(second)];
  p = Point{};
  p.at = second;
  p.requests = clamp32(delta.requests);
  p.client_errors = clamp32(delta.client_errors);
  p.server_errors = clamp32(delta.server_errors);
  if (delta.requests > 0) {
    p.p50 = static_cast<float>(obs::route_traffic::percentile_ms(delta.latency, 0.50));
    p.p95 = static_cast<float>(obs::route_traffic::percentile_ms(delta.latency, 0.95));
    p.p99 = static_cast<float>(obs::route_traffic::percentile_ms(delta.latency, 0.99));
    ring.last_traffic = second;
  }
}

std::optional<json::object> TrafficHistory::series(std::string_view scope, std::int64_t seconds) const {
  auto it = rings_.find(scope);
  if (it == rings_.end()) return std::nullopt;
  const Ring& ring = *it->second;
  seconds = std::clamp<std::int64_t>(seconds, 1, kSeconds);
  json::array time, requests, client_errors, server_errors, p50, p95, p99, connections;
  for (std::int64_t t = last_second_ - seconds + 1; t <= last_second_; ++t) {
    const Point* p = ring.at(t);
    time.emplace_back(t);
    requests.emplace_back(p ? p->requests : 0);
    client_errors.emplace_back(p ? p->client_errors : 0);
    server_errors.emplace_back(p ? p->server_errors : 0);
    bool latency = p != nullptr && p->requests > 0;
    p50.emplace_back(latency ? json::value(rounded(p->p50)) : json::value(nullptr));
    p95.emplace_back(latency ? json::value(rounded(p->p95)) : json::value(nullptr));
    p99.emplace_back(latency ? json::value(rounded(p->p99)) : json::value(nullptr));
    if (scope.empty()) connections.emplace_back(p ? p->connections : 0);
  }
  json::object out{{"scope", scope},           {"end", last_second_},       {"step", 1},
                   {"time", std::move(time)},  {"requests", std::move(requests)},
                   {"client_errors", std::move(client_errors)}, {"server_errors", std::move(server_errors)},
                   {"p50", std::move(p50)},    {"p95", std::move(p95)},     {"p99", std::move(p99)}};
  if (scope.empty()) out["connections"] = std::move(connections);
  return out;
}

json::object TrafficHistory::summary(const Ring& ring) const {
  std::uint64_t minute[3] = {0, 0, 0}, quarter[3] = {0, 0, 0};
  json::value last_p99 = nullptr;
  for (std::int64_t t = last_second_ - kSeconds + 1; t <= last_second_; ++t) {
    const Point* p = ring.at(t);
    if (p == nullptr) continue;
    const std::uint64_t counts[3] = {p->requests, p->client_errors, p->server_errors};
    for (int i = 0; i < 3; ++i) quarter[i] += counts[i];
    if (t > last_second_ - 60) {
      for (int i = 0; i < 3; ++i) minute[i] += counts[i];
      if (p->requests > 0) last_p99 = rounded(p->p99);
    }
  }
  return json::object{{"requests_1m", minute[0]},       {"client_errors_1m", minute[1]},
                      {"server_errors_1m", minute[2]},  {"requests_15m", quarter[0]},
                      {"client_errors_15m", quarter[1]}, {"server_errors_15m", quarter[2]},
                      {"p99_ms", last_p99}};
}

json::object TrafficHistory::top() const {
  json::array services, routes;
  json::object overall, unmatched;
  for (const auto& [scope, ring] : rings_) {
    json::object s = summary(*ring);
    if (scope.empty()) {
      overall = std::move(s);
    } else if (scope == "unmatched") {
      unmatched = std::move(s);
    } else if (scope.starts_with("service:")) {
      s["name"] = scope.substr(8);
      services.emplace_back(std::move(s));
    } else {
      s["name"] = scope.substr(6);
      routes.emplace_back(std::move(s));
    }
  }
  json::object out{{"end", last_second_}, {"overall", std::move(overall)}, {"services", std::move(services)},
                   {"routes", std::move(routes)}, {"points_dropped", points_dropped_}};
  if (!unmatched.empty()) out["unmatched"] = std::move(unmatched);
  return out;
}

}  // namespace portico::admin
