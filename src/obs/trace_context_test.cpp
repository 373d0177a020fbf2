#include "obs/trace_context.hpp"

#include <gtest/gtest.h>

#include "http/h1_parser.hpp"

namespace portico::obs::tracing {
namespace {

constexpr Format kAll[] = {Format::w3c, Format::b3, Format::jaeger, Format::ot, Format::datadog, Format::aws, Format::gcp};
constexpr std::string_view kTrace = "0af7651916cd43dd8448eb211c80319c";
constexpr std::string_view kSpan = "b7ad6b7169203331";

struct Request {
  std::string bytes;
  http::RequestHead head;
  explicit Request(const std::string& fields) : bytes("GET / HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n") {
    EXPECT_EQ(http::parse_request_head(bytes, http::ParserLimits{}, head).state, http::ParseState::complete);
  }
};

std::optional<Extracted> extract_from(const std::string& fields, std::span<const Format> order = kAll) {
  Request r(fields);
  return extract(r.head, order);
}

std::string value_of(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return "(absent)";
}

TEST(TraceContext, W3cIsReadAndWritten) {
  auto got = extract_from("traceparent: 00-" + std::string(kTrace) + "-" + std::string(kSpan) + "-01\r\n");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->format, Format::w3c);
  EXPECT_EQ(to_hex(got->context.trace_id), kTrace);
  EXPECT_EQ(to_hex(got->context.span_id), kSpan);
  EXPECT_EQ(got->context.sampled, true);
  EXPECT_EQ(value_of(inject(Format::w3c, got->context), "traceparent"), "00-" + std::string(kTrace) + "-" + std::string(kSpan) + "-01");
}

TEST(TraceContext, InvalidHeadersStartANewTrace) {
  for (std::string bad : std::vector<std::string>{"traceparent: 01-" + std::string(kTrace) + "-" + std::string(kSpan) + "-01",  // version
                          "traceparent: 00-00000000000000000000000000000000-" + std::string(kSpan) + "-01",
                          "traceparent: 00-" + std::string(kTrace) + "-0000000000000000-01",
                          "traceparent: 00-" + std::string(kTrace) + "-" + std::string(kSpan),
                          "traceparent: 00-xyz-" + std::string(kSpan) + "-01", std::string("b3: 1234-5678"),
                          "uber-trace-id: 0:1:0:1", "x-datadog-trace-id: 12ab", "x-amzn-trace-id: Root=2-1-2",
                          "x-cloud-trace-context: " + std::string(kTrace) + "/abc"}) {
    EXPECT_FALSE(extract_from(bad + "\r\n")) << bad;
  }
}

TEST(TraceContext, TheFirstValidFormatInOrderWins) {
  std::string both = "traceparent: 00-" + std::string(kTrace) + "-" + std::string(kSpan) + "-00\r\n" +
                     "x-b3-traceid: 463ac35c9f6413ad\r\nx-b3-spanid: a2fb4a1d1a96d312\r\nx-b3-sampled: 1\r\n";
  constexpr Format w3c_first[] = {Format::w3c, Format::b3};
  constexpr Format b3_first[] = {Format::b3, Format::w3c};
  EXPECT_EQ(extract_from(both, w3c_first)->format, Format::w3c);
  auto b3 = extract_from(both, b3_first);
  EXPECT_EQ(b3->format, Format::b3);
  EXPECT_EQ(b3->context.trace_id_size, 8u);
  // A 64-bit b3 trace written as w3c is padded with zeros; written as b3 it keeps its size.
  b3->context.span_id = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(value_of(inject(Format::w3c, b3->context), "traceparent"), "00-0000000000000000463ac35c9f6413ad-0102030405060708-01");
  EXPECT_EQ(value_of(inject(Format::b3, b3->context), "x-b3-traceid"), "463ac35c9f6413ad");
}

TEST(TraceContext, B3SingleHeaderWithSamplingAndParent) {
  auto got = extract_from("b3: " + std::string(kTrace) + "-" + std::string(kSpan) + "-d-a2fb4a1d1a96d312\r\n");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->format, Format::b3_single);
  EXPECT_TRUE(got->context.debug);
  EXPECT_EQ(to_hex(got->context.parent_id), "a2fb4a1d1a96d312");
  EXPECT_EQ(value_of(inject(Format::b3_single, got->context), "b3"),
            std::string(kTrace) + "-" + std::string(kSpan) + "-d-a2fb4a1d1a96d312");
  auto only_sampling = extract_from("b3: 0\r\n");
  ASSERT_TRUE(only_sampling);
  EXPECT_FALSE(only_sampling->context.has_trace_id());
  EXPECT_EQ(only_sampling->context.sampled, false);
}

TEST(TraceContext, JaegerPadsShortIdsAndCarriesBaggage) {
  auto got = extract_from("uber-trace-id: 1234:" + std::string(kSpan) + ":0:1\r\nuberctx-tenant: acme\r\n");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->format, Format::jaeger);
  EXPECT_FALSE(got->context.has_parent_id);
  auto out = inject(Format::jaeger, got->context);
  EXPECT_EQ(value_of(out, "uber-trace-id"), "00000000000000000000000000001234:" + std::string(kSpan) + ":0:01");
  EXPECT_EQ(value_of(out, "uberctx-tenant"), "acme");
}

TEST(TraceContext, OtIsSixtyFourBitsForANewTrace) {
  TraceContext fresh;
  for (std::size_t i = 0; i < 16; ++i) fresh.trace_id[i] = static_cast<std::uint8_t>(i + 1);
  fresh.span_id = {9, 9, 9, 9, 9, 9, 9, 9};
  fresh.sampled = true;
  auto out = inject(Format::ot, fresh);
  EXPECT_EQ(value_of(out, "ot-tracer-traceid"), "090a0b0c0d0e0f10");
  EXPECT_EQ(value_of(out, "ot-tracer-sampled"), "1");
}

TEST(TraceContext, DatadogAndGcpUseDecimalIdsAsKongsExamples) {
  auto from_w3c = extract_from("traceparent: 00-" + std::string(kTrace) + "-" + std::string(kSpan) + "-01\r\n");
  ASSERT_TRUE(from_w3c);
  auto dd = inject(Format::datadog, from_w3c->context);
  EXPECT_EQ(value_of(dd, "x-datadog-trace-id"), "9532127138774266268");
  EXPECT_EQ(value_of(dd, "x-datadog-parent-id"), "13235353014750950193");
  EXPECT_EQ(value_of(inject(Format::gcp, from_w3c->context), "x-cloud-trace-context"),
            std::string(kTrace) + "/13235353014750950193;o=1");
  auto back = extract_from("x-datadog-trace-id: 1234567890\r\nx-datadog-parent-id: 987\r\nx-datadog-sampling-priority: 1\r\n");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->format, Format::datadog);
  EXPECT_EQ(value_of(inject(Format::datadog, back->context), "x-datadog-trace-id"), "1234567890");
  auto gcp = extract_from("x-cloud-trace-context: " + std::string(kTrace) + "/13235353014750950193;o=1\r\n");
  ASSERT_TRUE(gcp);
  EXPECT_EQ(to_hex(gcp->context.span_id), kSpan);
}

TEST(TraceContext, AwsRootParentAndSampled) {
  auto got = extract_from("x-amzn-trace-id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1\r\n");
  ASSERT_TRUE(got);
  EXPECT_EQ(to_hex(got->context.trace_id), "5759e988bd862e3fe1be46a994272793");
  EXPECT_EQ(value_of(inject(Format::aws, got->context), "x-amzn-trace-id"),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
}

TEST(TraceContext, FormatNamesAreKongs) {
  EXPECT_EQ(format_named("b3-single"), Format::b3_single);
  EXPECT_EQ(format_name(Format::gcp), "gcp");
  EXPECT_FALSE(format_named("zipkin"));
}

}  // namespace
}  // namespace portico::obs::tracing
