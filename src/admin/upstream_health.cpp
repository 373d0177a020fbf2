#include "admin/upstream_health.hpp"

#include <boost/json.hpp>

#include "config/loader.hpp"

namespace portico::admin {

namespace json = boost::json;

namespace {

const char* address_health(const config::UpstreamRuntime& u, const config::Endpoint& e) {
  if (!u.config->healthchecks.enabled()) return "HEALTHCHECKS_OFF";
  return e.health->healthy() ? "HEALTHY" : "UNHEALTHY";
}

json::value tags_of(const std::vector<std::string>& tags) {
  if (tags.empty()) return nullptr;
  json::array a;
  for (const auto& t : tags) a.emplace_back(t);
  return a;
}

}  // namespace

std::string upstream_health_json(const config::UpstreamRuntime& u, const config::Snapshot& snapshot,
                                 const std::string& node_id, bool balancer_health) {
  const auto& balancer = *snapshot.balancers[u.balancer_index];
  bool checks_on = u.config->healthchecks.enabled();
  if (balancer_health) {
    // The upstream is healthy when the balancer can pick an address at all.
    int total = 0, healthy = 0;
    for (const auto& e : balancer.endpoints()) {
      total += e.weight;
      if (!checks_on || e.health->healthy()) healthy += e.weight;
    }
    double threshold = u.config->healthchecks.threshold;
    bool up = healthy > 0 && (total == 0 || healthy * 100.0 / total >= threshold);
    json::object data{
        {"id", u.config->id},
        {"health", !checks_on ? "HEALTHCHECKS_OFF" : (up ? "HEALTHY" : "UNHEALTHY")},
        {"details", json::object{{"weight", json::object{{"total", total}, {"available", healthy}}}}},
    };
    return json::serialize(json::object{{"data", data}, {"node_id", node_id}});
  }
  json::array data;
  for (const auto& t : u.targets) {
    json::array addresses;
    bool any_healthy = false;
    for (const auto* e : t.endpoints) {
      const char* h = address_health(u, *e);
      if (std::string_view(h) != "UNHEALTHY") any_healthy = true;
      addresses.push_back(json::object{{"ip", e->address.address().to_string()},
                                       {"port", e->address.port()},
                                       {"health", h},
                                       {"weight", e->weight}});
    }
    const char* health = "HEALTHCHECKS_OFF";
    if (!t.dns_error.empty()) health = "DNS_ERROR";
    else if (checks_on) health = any_healthy ? "HEALTHY" : "UNHEALTHY";
    json::object entry{
        {"id", config::derive_entity_id("target", u.config->name + "|" + t.config->target)},
        {"target", t.config->target},
        {"weight", t.config->weight},
        {"upstream", json::object{{"id", u.config->id}}},
        {"tags", tags_of(t.config->tags)},
        {"health", health},
        {"data", json::object{{"addresses", addresses}}},
    };
    data.push_back(std::move(entry));
  }
  return json::serialize(json::object{{"data", data}, {"next", nullptr}, {"node_id", node_id}});
}

}  // namespace portico::admin
