// OpenTelemetry spans and their OTLP/HTTP encodings: protobuf (application/x-protobuf, what
// Kong sends) and JSON (application/json, the OTLP/JSON mapping: hex ids, camelCase names,
// 64-bit integers as strings). One ExportTraceServiceRequest holds one resource and one
// instrumentation scope with the batch's spans. Field numbers are opentelemetry-proto's
// (trace/v1/trace.proto, common/v1/common.proto, resource/v1/resource.proto).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "obs/trace_context.hpp"

namespace portico::obs::otlp {

struct Attribute {
  std::string key;
  std::variant<std::string, bool, std::int64_t, double> value;
};

enum class SpanKind : int { unspecified = 0, internal = 1, server = 2, client = 3, producer = 4, consumer = 5 };
enum class StatusCode : int { unset = 0, ok = 1, error = 2 };

struct Span {
  tracing::TraceId trace_id{};
  tracing::SpanId span_id{};
  tracing::SpanId parent_span_id{};
  bool has_parent = false;
  std::string trace_state;
  std::string name;
  SpanKind kind = SpanKind::internal;
  std::uint64_t start_unix_nano = 0, end_unix_nano = 0;
  std::vector<Attribute> attributes;
  StatusCode status = StatusCode::unset;
  std::string status_message;
};

enum class Encoding { protobuf, json };

// What every span of an export shares: the resource's attributes and the instrumentation scope.
struct Resource {
  std::vector<Attribute> attributes;  // service.name, service.version, service.instance.id, ...
  std::string scope_name, scope_version;
};

// One span, encoded on its own (protobuf: the Span message; JSON: the span object), so that a
// worker encodes its spans and the exporter only joins them (encode_request).
std::string encode_span(const Span& span, Encoding encoding);
// An ExportTraceServiceRequest of spans encoded by encode_span with the same encoding.
std::string encode_request(const Resource& resource, std::span<const std::string> spans, Encoding encoding);

// A whole batch at once (tests, tools).
struct Batch {
  std::vector<Attribute> resource;  // service.name, service.version, service.instance.id, ...
  std::string scope_name, scope_version;
  std::span<const Span> spans;
};

std::string encode_protobuf(const Batch& batch);
std::string encode_json(const Batch& batch);

}  // namespace portico::obs::otlp
