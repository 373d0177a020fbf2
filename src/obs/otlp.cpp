#include "obs/otlp.hpp"

#include <bit>
#include <charconv>
#include <cstring>

#include "http/status.hpp"

namespace portico::obs::otlp {
namespace {

// --- protobuf wire format ---
enum Wire : std::uint32_t { kVarint = 0, kFixed64 = 1, kLength = 2 };

void varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void tag(std::string& out, std::uint32_t field, Wire wire) { varint(out, (static_cast<std::uint64_t>(field) << 3) | wire); }

void bytes_field(std::string& out, std::uint32_t field, std::string_view bytes) {
  tag(out, field, kLength);
  varint(out, bytes.size());
  out.append(bytes);
}

void fixed64_field(std::string& out, std::uint32_t field, std::uint64_t v) {
  tag(out, field, kFixed64);
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);  // little-endian
}

void varint_field(std::string& out, std::uint32_t field, std::uint64_t v) {
  tag(out, field, kVarint);
  varint(out, v);
}

std::string_view as_bytes(std::span<const std::uint8_t> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

std::string key_value(const Attribute& a) {
  std::string any;
  if (const auto* s = std::get_if<std::string>(&a.value)) bytes_field(any, 1, *s);
  else if (const auto* b = std::get_if<bool>(&a.value)) varint_field(any, 2, *b ? 1 : 0);
  else if (const auto* i = std::get_if<std::int64_t>(&a.value)) varint_field(any, 3, static_cast<std::uint64_t>(*i));
  else if (const auto* d = std::get_if<double>(&a.value)) fixed64_field(any, 4, std::bit_cast<std::uint64_t>(*d));
  std::string kv;
  bytes_field(kv, 1, a.key);
  bytes_field(kv, 2, any);
  return kv;
}

std::string span_message(const Span& s) {
  std::string m;
  bytes_field(m, 1, as_bytes(s.trace_id));
  bytes_field(m, 2, as_bytes(s.span_id));
  if (!s.trace_state.empty()) bytes_field(m, 3, s.trace_state);
  if (s.has_parent) bytes_field(m, 4, as_bytes(s.parent_span_id));
  bytes_field(m, 5, s.name);
  varint_field(m, 6, static_cast<std::uint64_t>(s.kind));
  fixed64_field(m, 7, s.start_unix_nano);
  fixed64_field(m, 8, s.end_unix_nano);
  for (const auto& a : s.attributes) bytes_field(m, 9, key_value(a));
  if (s.status != StatusCode::unset || !s.status_message.empty()) {
    std::string status;
    if (!s.status_message.empty()) bytes_field(status, 2, s.status_message);
    varint_field(status, 3, static_cast<std::uint64_t>(s.status));
    bytes_field(m, 15, status);
  }
  return m;
}

// --- JSON ---
void json_string(std::string& out, std::string_view s) {
  out += '"';
  http::append_json_escaped(out, s);
  out += '"';
}

void json_attributes(std::string& out, const std::vector<Attribute>& attributes) {
  out += '[';
  for (std::size_t i = 0; i < attributes.size(); ++i) {
    const auto& a = attributes[i];
    if (i > 0) out += ',';
    out += "{\"key\":";
    json_string(out, a.key);
    out += ",\"value\":{";
    if (const auto* s = std::get_if<std::string>(&a.value)) {
      out += "\"stringValue\":";
      json_string(out, *s);
    } else if (const auto* b = std::get_if<bool>(&a.value)) {
      out += *b ? "\"boolValue\":true" : "\"boolValue\":false";
    } else if (const auto* n = std::get_if<std::int64_t>(&a.value)) {
      out += "\"intValue\":\"" + std::to_string(*n) + "\"";  // int64 as a string (proto3 JSON)
    } else if (const auto* d = std::get_if<double>(&a.value)) {
      char buf[32];
      auto end = std::to_chars(buf, buf + sizeof buf, *d).ptr;
      out += "\"doubleValue\":";
      out.append(buf, end);
    }
    out += "}}";
  }
  out += ']';
}

}  // namespace

std::string encode_protobuf(const Batch& batch) {
  std::string resource;
  for (const auto& a : batch.resource) bytes_field(resource, 1, key_value(a));
  std::string scope;
  bytes_field(scope, 1, batch.scope_name);
  bytes_field(scope, 2, batch.scope_version);
  std::string scope_spans;
  bytes_field(scope_spans, 1, scope);
  for (const auto& s : batch.spans) bytes_field(scope_spans, 2, span_message(s));
  std::string resource_spans;
  bytes_field(resource_spans, 1, resource);
  bytes_field(resource_spans, 2, scope_spans);
  std::string request;
  bytes_field(request, 1, resource_spans);
  return request;
}

std::string encode_json(const Batch& batch) {
  std::string out = "{\"resourceSpans\":[{\"resource\":{\"attributes\":";
  json_attributes(out, batch.resource);
  out += "},\"scopeSpans\":[{\"scope\":{\"name\":";
  json_string(out, batch.scope_name);
  out += ",\"version\":";
  json_string(out, batch.scope_version);
  out += "},\"spans\":[";
  for (std::size_t i = 0; i < batch.spans.size(); ++i) {
    const Span& s = batch.spans[i];
    if (i > 0) out += ',';
    out += "{\"traceId\":\"" + tracing::to_hex(s.trace_id) + "\",\"spanId\":\"" + tracing::to_hex(s.span_id) + "\"";
    if (s.has_parent) out += ",\"parentSpanId\":\"" + tracing::to_hex(s.parent_span_id) + "\"";
    if (!s.trace_state.empty()) {
      out += ",\"traceState\":";
      json_string(out, s.trace_state);
    }
    out += ",\"name\":";
    json_string(out, s.name);
    out += ",\"kind\":" + std::to_string(static_cast<int>(s.kind));
    out += ",\"startTimeUnixNano\":\"" + std::to_string(s.start_unix_nano) + "\"";
    out += ",\"endTimeUnixNano\":\"" + std::to_string(s.end_unix_nano) + "\"";
    out += ",\"attributes\":";
    json_attributes(out, s.attributes);
    out += ",\"status\":{\"code\":" + std::to_string(static_cast<int>(s.status));
    if (!s.status_message.empty()) {
      out += ",\"message\":";
      json_string(out, s.status_message);
    }
    out += "}}";
  }
  out += "]}]}]}";
  return out;
}

}  // namespace portico::obs::otlp
