// Kong's kong.log.serialize(): the JSON record of one request that the file-log and http-log
// plugins write (request, upstream_uri, upstream_status, response, latencies, tries,
// authenticated_entity, route, service, consumer, client_ip, started_at, source, workspace).
// The route, service and consumer entities are written once, when the plugin instance is
// built, and spliced into each record.
#pragma once

#include <string>
#include <vector>

#include "config/model.hpp"

namespace portico::plugin {

class RequestContext;

class LogSerializer {
 public:
  explicit LogSerializer(const config::DeclarativeConfig& config);
  // One JSON object (no newline), from the context in its log phase.
  std::string serialize(const RequestContext& ctx) const;

 private:
  const config::DeclarativeConfig& config_;
  std::vector<std::string> routes_, services_, consumers_;  // entity JSON by index
};

}  // namespace portico::plugin
