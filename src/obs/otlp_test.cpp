#include "obs/otlp.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <bit>
#include <map>

namespace portico::obs::otlp {
namespace {

// A minimal protobuf reader, written apart from the encoder: fields of one message by number.
struct Field {
  std::uint32_t wire = 0;
  std::uint64_t number = 0;  // varint / fixed64 value
  std::string bytes;         // length-delimited payload
};
std::multimap<std::uint32_t, Field> decode(std::string_view m) {
  std::multimap<std::uint32_t, Field> out;
  auto read_varint = [&](std::uint64_t& v) {
    v = 0;
    for (int shift = 0; !m.empty(); shift += 7) {
      auto b = static_cast<std::uint8_t>(m.front());
      m.remove_prefix(1);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  };
  while (!m.empty()) {
    std::uint64_t key = 0;
    EXPECT_TRUE(read_varint(key));
    Field f;
    f.wire = static_cast<std::uint32_t>(key & 7);
    if (f.wire == 0) {
      read_varint(f.number);
    } else if (f.wire == 1) {
      for (int i = 0; i < 8; ++i) f.number |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(m[i])) << (8 * i);
      m.remove_prefix(8);
    } else if (f.wire == 2) {
      std::uint64_t len = 0;
      read_varint(len);
      f.bytes = std::string(m.substr(0, len));
      m.remove_prefix(len);
    } else {
      ADD_FAILURE() << "unexpected wire type " << f.wire;
      return out;
    }
    out.emplace(static_cast<std::uint32_t>(key >> 3), std::move(f));
  }
  return out;
}
const Field& one(const std::multimap<std::uint32_t, Field>& m, std::uint32_t n) {
  static const Field none;
  auto it = m.find(n);
  EXPECT_NE(it, m.end()) << "field " << n;
  return it == m.end() ? none : it->second;
}

Batch sample(std::vector<Span>& spans) {
  Span s;
  for (int i = 0; i < 16; ++i) s.trace_id[i] = static_cast<std::uint8_t>(i + 1);
  s.span_id = {0xA, 0xB, 0xC, 0xD, 1, 2, 3, 4};
  s.parent_span_id = {9, 8, 7, 6, 5, 4, 3, 2};
  s.has_parent = true;
  s.name = "kong.balancer";
  s.kind = SpanKind::client;
  s.start_unix_nano = 1700000000123456789ull;
  s.end_unix_nano = 1700000000223456789ull;
  s.attributes = {{"net.peer.ip", std::string("10.0.0.1")}, {"http.status_code", std::int64_t{502}},
                  {"try", 1.5}, {"retried", true}};
  s.status = StatusCode::error;
  s.status_message = "connection refused";
  spans.push_back(s);
  return Batch{{{"service.name", std::string("kong")}}, "kong-internal", "0.1.0", spans};
}

TEST(Otlp, ProtobufUsesOpenTelemetrysFieldNumbers) {
  std::vector<Span> spans;
  std::string wire = encode_protobuf(sample(spans));
  auto request = decode(wire);
  auto resource_spans = decode(one(request, 1).bytes);
  auto resource = decode(one(resource_spans, 1).bytes);
  auto service = decode(one(resource, 1).bytes);
  EXPECT_EQ(one(service, 1).bytes, "service.name");
  EXPECT_EQ(one(decode(one(service, 2).bytes), 1).bytes, "kong");
  auto scope_spans = decode(one(resource_spans, 2).bytes);
  auto scope = decode(one(scope_spans, 1).bytes);
  EXPECT_EQ(one(scope, 1).bytes, "kong-internal");
  EXPECT_EQ(one(scope, 2).bytes, "0.1.0");
  auto span = decode(one(scope_spans, 2).bytes);
  EXPECT_EQ(one(span, 1).bytes, std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16));
  EXPECT_EQ(one(span, 2).bytes, std::string("\x0a\x0b\x0c\x0d\x01\x02\x03\x04", 8));
  EXPECT_EQ(one(span, 4).bytes, std::string("\x09\x08\x07\x06\x05\x04\x03\x02", 8));
  EXPECT_EQ(one(span, 5).bytes, "kong.balancer");
  EXPECT_EQ(one(span, 6).number, 3u);  // SPAN_KIND_CLIENT
  EXPECT_EQ(one(span, 7).wire, 1u);    // fixed64
  EXPECT_EQ(one(span, 7).number, 1700000000123456789ull);
  EXPECT_EQ(one(span, 8).number, 1700000000223456789ull);
  EXPECT_EQ(span.count(9), 4u);
  std::map<std::string, std::multimap<std::uint32_t, Field>> values;
  auto [first, last] = span.equal_range(9);
  for (auto it = first; it != last; ++it) {
    auto kv = decode(it->second.bytes);
    values[one(kv, 1).bytes] = decode(one(kv, 2).bytes);
  }
  EXPECT_EQ(one(values["net.peer.ip"], 1).bytes, "10.0.0.1");
  EXPECT_EQ(one(values["http.status_code"], 3).number, 502u);
  EXPECT_EQ(one(values["retried"], 2).number, 1u);
  EXPECT_EQ(std::bit_cast<double>(one(values["try"], 4).number), 1.5);
  auto status = decode(one(span, 15).bytes);
  EXPECT_EQ(one(status, 2).bytes, "connection refused");
  EXPECT_EQ(one(status, 3).number, 2u);  // STATUS_CODE_ERROR
}

TEST(Otlp, LargeValuesFitTheSpansBoundedEncoding) {
  // The largest varints (negative ints take 10 bytes), long keys and values, multi-byte
  // lengths everywhere: the span writer's size bound must hold (ASan checks the writes).
  Span s;
  s.trace_id[15] = 1;
  s.span_id[7] = 1;
  s.name = std::string(200, 'n');
  s.trace_state = std::string(300, 't');
  s.status = StatusCode::error;
  s.status_message = std::string(130, 'm');
  for (int i = 0; i < 20; ++i) {
    s.attributes.push_back({std::string(140, static_cast<char>('a' + i)), std::int64_t{-1}});
    s.attributes.push_back({"k" + std::to_string(i), std::string(129 + i, 'v')});
    s.attributes.push_back({"d" + std::to_string(i), -0.25});
    s.attributes.push_back({"b" + std::to_string(i), false});
  }
  auto span = decode(encode_span(s, Encoding::protobuf));
  EXPECT_EQ(one(span, 3).bytes, s.trace_state);
  EXPECT_EQ(span.count(9), 80u);
  auto [first, last] = span.equal_range(9);
  std::size_t negative = 0;
  for (auto it = first; it != last; ++it) {
    auto value = decode(one(decode(it->second.bytes), 2).bytes);
    if (value.count(3) == 1 && one(value, 3).number == ~std::uint64_t{0}) ++negative;
  }
  EXPECT_EQ(negative, 20u);
  EXPECT_EQ(one(decode(one(span, 15).bytes), 2).bytes, s.status_message);
}

TEST(Otlp, JsonFollowsTheOtlpJsonMapping) {
  std::vector<Span> spans;
  auto doc = boost::json::parse(encode_json(sample(spans)));
  const auto& rs = doc.at("resourceSpans").at(0);
  EXPECT_EQ(rs.at("resource").at("attributes").at(0).at("value").at("stringValue"), "kong");
  const auto& span = rs.at("scopeSpans").at(0).at("spans").at(0);
  EXPECT_EQ(span.at("traceId"), "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(span.at("spanId"), "0a0b0c0d01020304");
  EXPECT_EQ(span.at("parentSpanId"), "0908070605040302");
  EXPECT_EQ(span.at("kind"), 3);
  EXPECT_EQ(span.at("startTimeUnixNano"), "1700000000123456789");
  EXPECT_EQ(span.at("attributes").at(1).at("value").at("intValue"), "502");
  EXPECT_EQ(span.at("status").at("code"), 2);
}

}  // namespace
}  // namespace portico::obs::otlp
