// The spans of one traced request, built in the log phase from what the proxy recorded
// (RequestContext::served) and what the plugin kept (RequestTrace), with Kong's names and
// attributes (docs/kong-reference/opentelemetry.md §2):
//   kong                   SERVER  the request, parent: the caller's span
//   kong.access            INTERNAL the gateway's work before the request went upstream
//   kong.balancer          CLIENT  one per upstream try (retries visible; a failed try is an error)
//   kong.internal.request  CLIENT  one per backend call made for the request (aggregate)
#pragma once

#include <string_view>
#include <vector>

#include "obs/otlp.hpp"
#include "plugins/opentelemetry/request_trace.hpp"

namespace portico::plugin {
class RequestContext;
}

namespace portico::plugins::opentelemetry {

// `http_route` is the matched route's first path (Kong's http.route), "" without one.
std::vector<obs::otlp::Span> request_spans(const RequestTrace& trace, const plugin::RequestContext& ctx,
                                           std::string_view http_route);

}  // namespace portico::plugins::opentelemetry
