// Trace context propagation in the formats Kong's opentelemetry plugin speaks (see
// docs/kong-reference/opentelemetry.md §4): reading a caller's trace from request headers and
// writing the gateway's own to the upstream request.
//
//   w3c        traceparent: 00-<32 hex trace>-<16 hex span>-<2 hex flags>
//   b3         x-b3-traceid / x-b3-spanid / x-b3-parentspanid / x-b3-sampled / x-b3-flags
//   b3-single  b3: <trace>-<span>[-<1|0|d>][-<parent>]  (or just 1, 0, d)
//   jaeger     uber-trace-id: <trace>:<span>:<parent>:<flags>, baggage uberctx-<key>
//   ot         ot-tracer-traceid / ot-tracer-spanid / ot-tracer-sampled, baggage ot-baggage-<key>
//   datadog    x-datadog-trace-id / x-datadog-parent-id (decimal), x-datadog-sampling-priority
//   aws        x-amzn-trace-id: Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>
//   gcp        x-cloud-trace-context: <32 hex>/<decimal span>;o=<0|1>
//
// Ids are kept as bytes: a trace id in 16 (a 64-bit one right-aligned, zeros before it), with
// the size it had on the wire, since each format writes the size it allows (Kong's rule: the
// received size when allowed, else the format's first size).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/header_view.hpp"

namespace portico::obs::tracing {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

enum class Format { w3c, b3, b3_single, jaeger, ot, datadog, aws, gcp };

std::optional<Format> format_named(std::string_view name);  // Kong's names: "w3c", "b3-single", ...
std::string_view format_name(Format format);

struct TraceContext {
  TraceId trace_id{};
  std::size_t trace_id_size = 0;  // bytes as received (0: no trace id)
  SpanId span_id{};               // extracted: the caller's span; injected: the gateway's
  bool has_span_id = false;
  SpanId parent_id{};             // b3 / jaeger: the span's parent
  bool has_parent_id = false;
  std::optional<bool> sampled;    // absent: the caller did not say
  bool debug = false;             // b3's flags "1" / "d"
  std::vector<std::pair<std::string, std::string>> baggage;  // jaeger and ot baggage items

  bool has_trace_id() const { return trace_id_size != 0; }
};

struct Extracted {
  TraceContext context;
  Format format;  // b3_single when the single b3 header carried it
};

// The first format in `order` whose headers are present and valid; a present but invalid
// header is skipped (a new trace starts, as in Kong).
std::optional<Extracted> extract(const http::RequestHead& request, std::span<const Format> order);

// The header fields that carry `context` in `format` (name, value). `context.span_id` is the
// span the upstream's work belongs under; `parent_id` is written by the formats that carry it.
std::vector<std::pair<std::string, std::string>> inject(Format format, const TraceContext& context);

// W3C's "00-<32 hex trace>-<16 hex span>-<flags>", kTraceparentSize bytes written at `out`:
// the injection every traced request makes (inject(Format::w3c) writes it too).
constexpr std::size_t kTraceparentSize = 55;
void write_traceparent(char* out, const TraceId& trace_id, const SpanId& span_id, bool sampled);

// Every header name a format reads or writes (for clearing a client's copies).
std::vector<std::string_view> header_names(Format format);

// Lower-case hex of `bytes`.
std::string to_hex(std::span<const std::uint8_t> bytes);

}  // namespace portico::obs::tracing
