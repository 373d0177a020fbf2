#include "obs/otlp.hpp"

#include <bit>
#include <charconv>
#include <cstring>

#include "http/status.hpp"

namespace portico::obs::otlp {
namespace {

// --- protobuf wire format ---
enum Wire : std::uint32_t { kVarint = 0, kFixed64 = 1, kLength = 2 };

// The export request's envelope (once per batch) is appended to strings; spans and the
// resource go through BoundedWriter below, written in place with their sizes computed first.
void varint(std::string& out, std::uint64_t v) {
  char buf[10];
  std::size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) v >>= 7, ++n;
  return n;
}

void tag(std::string& out, std::uint32_t field, Wire wire) { varint(out, (static_cast<std::uint64_t>(field) << 3) | wire); }

void bytes_field(std::string& out, std::uint32_t field, std::string_view bytes) {
  tag(out, field, kLength);
  varint(out, bytes.size());
  out.append(bytes);
}

std::string_view as_bytes(std::span<const std::uint8_t> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// A KeyValue{key=1, value=2 AnyValue{string=1 | bool=2 | int=3 | double=4}} as field `field`
// of the message being written. All the tags here are one byte (fields below 16).
std::size_t any_value_size(const Attribute& a) {
  if (const auto* s = std::get_if<std::string>(&a.value)) return 1 + varint_size(s->size()) + s->size();
  if (std::holds_alternative<bool>(a.value)) return 2;
  if (const auto* i = std::get_if<std::int64_t>(&a.value)) return 1 + varint_size(static_cast<std::uint64_t>(*i));
  return 9;  // double
}

// Writes a message into memory sized beforehand (an upper bound): a sampled request's spans
// are encoded on the worker, so no per-field capacity checks or appends.
class BoundedWriter {
 public:
  explicit BoundedWriter(char* at) : p_(at) {}
  char* end() const { return p_; }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>((v & 0x7F) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void tag(std::uint32_t field, Wire wire) { varint((static_cast<std::uint64_t>(field) << 3) | wire); }
  void bytes(std::uint32_t field, std::string_view b) {
    tag(field, kLength);
    varint(b.size());
    std::memcpy(p_, b.data(), b.size());
    p_ += b.size();
  }
  void varint_field(std::uint32_t field, std::uint64_t v) {
    tag(field, kVarint);
    varint(v);
  }
  void fixed64_field(std::uint32_t field, std::uint64_t v) {
    tag(field, kFixed64);
    for (int i = 0; i < 8; ++i) *p_++ = static_cast<char>((v >> (8 * i)) & 0xFF);  // little-endian
  }
  // A KeyValue{key=1, value=2 AnyValue{string=1 | bool=2 | int=3 | double=4}} as field
  // `field` of the message being written. All the tags here are one byte (fields below 16).
  void key_value(std::uint32_t field, const Attribute& a) {
    std::size_t any_size = any_value_size(a);
    tag(field, kLength);
    varint(1 + varint_size(a.key.size()) + a.key.size() + 1 + varint_size(any_size) + any_size);
    bytes(1, a.key);
    tag(2, kLength);
    varint(any_size);
    if (const auto* s = std::get_if<std::string>(&a.value)) bytes(1, *s);
    else if (const auto* b = std::get_if<bool>(&a.value)) varint_field(2, *b ? 1 : 0);
    else if (const auto* i = std::get_if<std::int64_t>(&a.value)) varint_field(3, static_cast<std::uint64_t>(*i));
    else if (const auto* d = std::get_if<double>(&a.value)) fixed64_field(4, std::bit_cast<std::uint64_t>(*d));
  }

 private:
  char* p_;
};

// Each field costs at most its payload and 11 bytes of tag and length (a varint value: 11
// bytes with its tag); an attribute is four such levels.
std::size_t attributes_bound(const std::vector<Attribute>& attributes) {
  std::size_t bound = 0;
  for (const auto& a : attributes) {
    bound += 4 * 11 + a.key.size();
    if (const auto* text = std::get_if<std::string>(&a.value)) bound += text->size();
  }
  return bound;
}

// The resource's attributes as a Resource message (attributes=1...).
std::string resource_message(const std::vector<Attribute>& attributes) {
  std::string m(attributes_bound(attributes), '\0');
  BoundedWriter w(m.data());
  for (const auto& a : attributes) w.key_value(1, a);
  m.resize(static_cast<std::size_t>(w.end() - m.data()));
  return m;
}

std::string span_message(const Span& s) {
  std::size_t bound = 16 * 11 + 16 + 8 + 8 + 16 + s.trace_state.size() + s.name.size() + s.status_message.size() +
                      attributes_bound(s.attributes);
  std::string m(bound, '\0');
  BoundedWriter w(m.data());
  w.bytes(1, as_bytes(s.trace_id));
  w.bytes(2, as_bytes(s.span_id));
  if (!s.trace_state.empty()) w.bytes(3, s.trace_state);
  if (s.has_parent) w.bytes(4, as_bytes(s.parent_span_id));
  w.bytes(5, s.name);
  w.varint_field(6, static_cast<std::uint64_t>(s.kind));
  w.fixed64_field(7, s.start_unix_nano);
  w.fixed64_field(8, s.end_unix_nano);
  for (const auto& a : s.attributes) w.key_value(9, a);
  if (s.status != StatusCode::unset || !s.status_message.empty()) {
    std::size_t size = (s.status_message.empty() ? 0 : 1 + varint_size(s.status_message.size()) + s.status_message.size()) + 2;
    w.tag(15, kLength);
    w.varint(size);
    if (!s.status_message.empty()) w.bytes(2, s.status_message);
    w.varint_field(3, static_cast<std::uint64_t>(s.status));
  }
  m.resize(static_cast<std::size_t>(w.end() - m.data()));
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

std::string encode_span(const Span& s, Encoding encoding) {
  if (encoding == Encoding::protobuf) return span_message(s);
  std::string out = "{\"traceId\":\"" + tracing::to_hex(s.trace_id) + "\",\"spanId\":\"" + tracing::to_hex(s.span_id) + "\"";
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
  return out;
}

std::string encode_request(const Resource& resource, std::span<const std::string> spans, Encoding encoding) {
  if (encoding == Encoding::protobuf) {
    // ExportTraceServiceRequest{resource_spans=1: ResourceSpans{resource=1, scope_spans=2:
    // ScopeSpans{scope=1, spans=2...}}}, written once with the sizes computed first (a batch
    // holds up to max_batch_size spans: no copy per nesting level).
    std::string attributes = resource_message(resource.attributes);
    std::string scope;
    bytes_field(scope, 1, resource.scope_name);
    bytes_field(scope, 2, resource.scope_version);
    auto field_size = [](std::size_t size) { return 1 + varint_size(size) + size; };
    std::size_t scope_spans = field_size(scope.size());
    for (const auto& span : spans) scope_spans += field_size(span.size());
    std::size_t resource_spans = field_size(attributes.size()) + field_size(scope_spans);
    std::string out;
    out.reserve(field_size(resource_spans));
    tag(out, 1, kLength);
    varint(out, resource_spans);
    bytes_field(out, 1, attributes);
    tag(out, 2, kLength);
    varint(out, scope_spans);
    bytes_field(out, 1, scope);
    for (const auto& span : spans) bytes_field(out, 2, span);
    return out;
  }
  std::string out = "{\"resourceSpans\":[{\"resource\":{\"attributes\":";
  json_attributes(out, resource.attributes);
  out += "},\"scopeSpans\":[{\"scope\":{\"name\":";
  json_string(out, resource.scope_name);
  out += ",\"version\":";
  json_string(out, resource.scope_version);
  out += "},\"spans\":[";
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (i > 0) out += ',';
    out += spans[i];
  }
  out += "]}]}]}";
  return out;
}

namespace {
std::string encode_batch(const Batch& batch, Encoding encoding) {
  std::vector<std::string> spans;
  spans.reserve(batch.spans.size());
  for (const auto& s : batch.spans) spans.push_back(encode_span(s, encoding));
  return encode_request({batch.resource, batch.scope_name, batch.scope_version}, spans, encoding);
}
}  // namespace

std::string encode_protobuf(const Batch& batch) { return encode_batch(batch, Encoding::protobuf); }
std::string encode_json(const Batch& batch) { return encode_batch(batch, Encoding::json); }

}  // namespace portico::obs::otlp
