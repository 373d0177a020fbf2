// An immutable, fully compiled configuration generation.
//
// Built on the control thread from a validated DeclarativeConfig (routes compiled,
// upstream addresses resolved), then shared read-only by every worker through a
// shared_ptr<const Snapshot>. A request keeps the snapshot it started with.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "router/router.hpp"

namespace portico::config {

// One resolved upstream address of a service.
struct Endpoint {
  boost::asio::ip::tcp::endpoint address;
  std::string host_header;  // Host sent upstream when preserve_host is off
  std::string pool_key;     // "ip:port", the upstream keep-alive pool key
  int weight = 100;
};

struct ServiceRuntime {
  ServiceConfig config;
  std::vector<Endpoint> endpoints;   // weight > 0 only
  std::string resolve_error;         // set when no endpoint could be resolved
};

struct Snapshot {
  DeclarativeConfig config;
  std::unique_ptr<router::Router> router;
  std::vector<ServiceRuntime> services;  // parallel to config.services
  std::uint64_t generation = 0;
};

// Builds a snapshot. Name resolution blocks, so this runs on the control thread only.
// Hosts that do not resolve leave the service without endpoints (requests get 503) and
// add a warning to `warnings`.
std::shared_ptr<const Snapshot> build_snapshot(DeclarativeConfig config, std::uint64_t generation,
                                               std::vector<std::string>& warnings);

}  // namespace portico::config
