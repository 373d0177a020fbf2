// Kong's kong.log.serialize(): the JSON record of one request that the file-log and http-log
// plugins write (request, upstream_uri, upstream_status, response, latencies, tries,
// authenticated_entity, route, service, consumer, client_ip, started_at, source, workspace).
// The route, service and consumer entities are written once, when the plugin instance is
// built, and spliced into each record.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "plugin/plugin.hpp"

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

// The instance of a log plugin (file-log, http-log): each request's record, serialized in the
// log phase, is handed to `Sink::push` (a bounded queue that never blocks the worker).
template <typename Sink>
class RecordLogger final : public Instance {
 public:
  RecordLogger(const config::DeclarativeConfig& config, std::shared_ptr<Sink> sink)
      : serializer_(config), sink_(std::move(sink)) {}

  void log(RequestContext& ctx) const noexcept override {
    try {
      sink_->push(serializer_.serialize(ctx));
    } catch (...) {
      // Out of memory while serializing: the record is lost, the request is not.
    }
  }

 private:
  LogSerializer serializer_;
  std::shared_ptr<Sink> sink_;
};

}  // namespace portico::plugin
