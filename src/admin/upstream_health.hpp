// GET /upstreams/{name or id}/health in Kong's shape: each target with its health as this
// node sees it (HEALTHY, UNHEALTHY, HEALTHCHECKS_OFF, DNS_ERROR) and its addresses;
// with ?balancer_health=1 the upstream's own health instead.
#pragma once

#include <string>

#include "config/snapshot.hpp"

namespace portico::admin {

std::string upstream_health_json(const config::UpstreamRuntime& upstream, const config::Snapshot& snapshot,
                                 const std::string& node_id, bool balancer_health);

}  // namespace portico::admin
