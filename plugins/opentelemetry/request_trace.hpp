// One request's part in a trace, kept in the request's arena (RequestContext::state): the
// trace it belongs to (the caller's, or a new one), the ids of the gateway's spans, the
// sampling decision, and the gateway's own calls made for it (aggregate backends).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "obs/trace_context.hpp"

namespace portico::plugins::opentelemetry {

// A backend call made for the request (CallTracer), in the arena, newest first.
struct CallSpan {
  obs::tracing::SpanId id{};
  std::string_view method, url, error;
  int status = 0;
  bool finished = false;
  std::chrono::steady_clock::time_point start{}, end{};
  CallSpan* next = nullptr;
};

struct RequestTrace {
  bool begun = false;
  bool sampled = false;
  bool has_parent = false;               // the caller sent its span: the root span's parent
  obs::tracing::TraceId trace_id{};      // 64-bit ids right-aligned (Kong's padding)
  obs::tracing::SpanId root_id{};        // the "kong" SERVER span
  obs::tracing::SpanId upstream_id{};    // the last upstream try's span: the service's parent
  obs::tracing::SpanId parent_id{};      // the caller's span
  bool context_came_in = false;          // the caller's context was read, in `came_in`'s format
  obs::tracing::Format came_in = obs::tracing::Format::w3c;
  CallSpan* calls = nullptr;
};

// Kong's sampler (pdk/tracing.lua): the trace id's first 8 bytes, read little-endian, below
// rate·2^64. Deterministic per trace, so every gateway on a trace decides alike.
bool sampled_by_ratio(const obs::tracing::TraceId& trace_id, double rate);

obs::tracing::SpanId random_span_id();
obs::tracing::TraceId random_trace_id();

}  // namespace portico::plugins::opentelemetry
