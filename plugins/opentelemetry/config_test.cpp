// The opentelemetry plugin's configuration as Kong reads it: its defaults (a queue of 200-span
// batches), the deprecated fields' mapping, header_type onto propagation, and Kong's sampler.
#include "plugins/opentelemetry/config.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "plugins/opentelemetry/request_trace.hpp"

namespace portico::plugins::opentelemetry {
namespace {

namespace json = boost::json;
using obs::tracing::Format;

std::shared_ptr<const OtelConfig> read(const std::string& text, schema::Errors& errors) {
  auto parsed = config_schema().read(json::parse(text), errors, schema::Input::typed, "config");
  return std::static_pointer_cast<const OtelConfig>(parsed);
}

std::shared_ptr<const OtelConfig> read_ok(const std::string& text) {
  schema::Errors errors;
  auto c = read(text, errors);
  EXPECT_TRUE(errors.empty()) << text << ": " << (errors.empty() ? "" : errors[0].path + " " + errors[0].message);
  return c;
}

std::string first_error(const std::string& text) {
  schema::Errors errors;
  EXPECT_EQ(read(text, errors), nullptr) << text;
  return errors.empty() ? "" : errors[0].path + ": " + errors[0].message;
}

TEST(OpenTelemetryConfig, KongsDefaults) {
  auto c = read_ok(R"({"traces_endpoint": "http://collector:4318/v1/traces"})");
  EXPECT_EQ(c->queue.max_batch_size, 200);  // the plugin's own default for its queue
  EXPECT_EQ(c->queue.max_coalescing_delay, 1);
  EXPECT_EQ(c->connect_timeout, 1000);
  EXPECT_EQ(c->send_timeout, 5000);
  EXPECT_EQ(c->header_type, "preserve");
  EXPECT_LT(c->sampling_rate, 0);  // unset: Kong's global default applies
  EXPECT_EQ(c->propagation.default_format, "w3c");
}

TEST(OpenTelemetryConfig, AGivenQueueKeepsTheQueuesOwnDefaults) {
  auto c = read_ok(R"({"traces_endpoint": "http://c/v1/traces", "queue": {"max_coalescing_delay": 2}})");
  EXPECT_EQ(c->queue.max_batch_size, 1);  // Kong: 200 only when the whole record is absent
  EXPECT_EQ(c->queue.max_coalescing_delay, 2);
}

TEST(OpenTelemetryConfig, DeprecatedFieldsMapOntoTheQueueAndTheShorthandOntoTracesEndpoint) {
  auto c = read_ok(R"({"endpoint": "http://c/v1/traces", "batch_span_count": 50, "batch_flush_delay": 7})");
  EXPECT_EQ(c->traces_endpoint, "http://c/v1/traces");
  EXPECT_EQ(c->queue.max_batch_size, 50);
  EXPECT_EQ(c->queue.max_coalescing_delay, 7);
  auto old_defaults = read_ok(R"({"traces_endpoint": "http://c/v1/traces", "batch_span_count": 200, "batch_flush_delay": 3})");
  EXPECT_EQ(old_defaults->queue.max_batch_size, 200);
  EXPECT_EQ(old_defaults->queue.max_coalescing_delay, 1);
}

TEST(OpenTelemetryConfig, MistakesNameTheField) {
  EXPECT_EQ(first_error("{}"), "config: at least one of these fields must be non-empty: 'traces_endpoint', 'logs_endpoint'");
  EXPECT_EQ(first_error(R"({"traces_endpoint": "collector/v1"})"), "config.traces_endpoint: missing host in url");
  EXPECT_NE(first_error(R"({"traces_endpoint": "http://c/", "sampling_rate": 1.5})").find("config.sampling_rate"),
            std::string::npos);
  EXPECT_NE(first_error(R"({"traces_endpoint": "http://c/", "headers": {"bad header": "x"}})").find("bad header name"),
            std::string::npos);
  EXPECT_NE(first_error(R"({"traces_endpoint": "http://c/", "resource_attributes": {"foo": ""}})")
                .find("length must be at least 1"),
            std::string::npos);
  EXPECT_NE(first_error(R"({"traces_endpoint": "http://c/", "propagation": {"extract": ["b3-single"]}})")
                .find("config.propagation.extract"),
            std::string::npos);
  EXPECT_NE(first_error(R"({"logs_endpoint": "http://c/v1/logs"})").find("config.logs_endpoint: OTLP logs"),
            std::string::npos);
}

TEST(OpenTelemetryPropagation, HeaderTypeMapsAsInKong) {
  // preserve (the default): every format is read, the one found is written back.
  auto p = resolve_propagation(*read_ok(R"({"traces_endpoint": "http://c/"})"));
  EXPECT_EQ(p.extract.size(), 7u);
  EXPECT_EQ(p.extract.front(), Format::b3);
  EXPECT_TRUE(p.inject_preserve);
  EXPECT_TRUE(p.inject.empty());
  // A format: preserve, plus that format.
  p = resolve_propagation(*read_ok(R"({"traces_endpoint": "http://c/", "header_type": "jaeger"})"));
  EXPECT_TRUE(p.inject_preserve);
  ASSERT_EQ(p.inject.size(), 1u);
  EXPECT_EQ(p.inject[0], Format::jaeger);
  // ignore: nothing read, default_format written.
  p = resolve_propagation(*read_ok(R"({"traces_endpoint": "http://c/", "header_type": "ignore"})"));
  EXPECT_TRUE(p.extract.empty());
  EXPECT_FALSE(p.inject_preserve);
  ASSERT_EQ(p.inject.size(), 1u);
  EXPECT_EQ(p.inject[0], Format::w3c);
  // An explicit propagation wins over header_type.
  p = resolve_propagation(*read_ok(
      R"({"traces_endpoint": "http://c/", "header_type": "jaeger",
          "propagation": {"extract": ["w3c"], "inject": ["aws"], "clear": ["x-old"], "default_format": "b3"}})"));
  ASSERT_EQ(p.extract.size(), 1u);
  EXPECT_EQ(p.extract[0], Format::w3c);
  EXPECT_FALSE(p.inject_preserve);
  ASSERT_EQ(p.inject.size(), 1u);
  EXPECT_EQ(p.inject[0], Format::aws);
  EXPECT_EQ(p.default_format, Format::b3);
  EXPECT_EQ(p.clear, std::vector<std::string>{"x-old"});
}

obs::tracing::TraceId trace_from_hex(std::string_view hex) {
  obs::tracing::TraceId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i * 2, 2)), nullptr, 16));
  return id;
}

TEST(OpenTelemetrySampler, KongsSpecExamplesAtHalf) {
  // 04-exporter_spec: at 0.5 the first is always sampled, the second never.
  EXPECT_TRUE(sampled_by_ratio(trace_from_hex("92a54b3e1a7c4f2da9e44b8a6f3e1dab"), 0.5));
  EXPECT_FALSE(sampled_by_ratio(trace_from_hex("4bf92f3577b34da6a3ce929d0e0e4736"), 0.5));
  EXPECT_TRUE(sampled_by_ratio(trace_from_hex("4bf92f3577b34da6a3ce929d0e0e4736"), 1));
  EXPECT_FALSE(sampled_by_ratio(trace_from_hex("92a54b3e1a7c4f2da9e44b8a6f3e1dab"), 0));
}

TEST(OpenTelemetrySampler, RandomTracesAreSampledAtTheRate) {
  int sampled = 0;
  for (int i = 0; i < 20000; ++i) sampled += sampled_by_ratio(random_trace_id(), 0.1) ? 1 : 0;
  EXPECT_GT(sampled, 1700);  // 2000 expected; 4.7 standard deviations either side
  EXPECT_LT(sampled, 2300);
}

}  // namespace
}  // namespace portico::plugins::opentelemetry
