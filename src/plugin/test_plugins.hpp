// Plugins for tests and benchmarks of the engine itself (never in the plugin list): a
// no-op plugin with a chosen name, priority, phases and scopes, whose instance records in
// its per-request slot which phases ran, and can be told to answer the request.
#pragma once

#include <memory>
#include <string>

#include "plugin/plugin.hpp"

namespace portico::plugin::testing {

struct NoopConfig : ParsedConfig {
  std::string tag;         // recorded into the request's trace (see NoopInstance)
  int reply_status = 0;    // non-zero: access answers with this status
  bool suspend = false;    // access suspends; access_async finishes
  std::string body_suffix;      // response_body: appended to the body
  std::string response_header;  // response_headers: "X-Test-Plugin: <value>" is added
  std::string authenticate;     // access: authenticates the consumer with this username
  std::string stored_body;      // access: answers 200 with this body as a stored response
  // response_headers / response_body: "X-Test-Upstream: <status>" from ctx.upstream_response()
  bool echo_upstream_status = false;
};

// A schema whose config is {tag, reply_status, suspend, body_suffix, response_header,
// authenticate, stored_body, echo_upstream_status}. The schema must outlive any
// configuration using it.
std::unique_ptr<Schema> make_noop_schema(std::string name, int priority, unsigned phases,
                                         unsigned scopes = kGlobal | kService | kRoute | kConsumer);

// The order in which no-op plugins ran their access phase in this request: their tags,
// comma-separated (stored in the request's arena, see RequestContext::store).
std::string_view access_trace(RequestContext& ctx);

}  // namespace portico::plugin::testing
