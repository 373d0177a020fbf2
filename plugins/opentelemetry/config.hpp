// The opentelemetry plugin's `config` (Kong's fields, kong/plugins/opentelemetry/schema.lua)
// and what it resolves to: the formats to read and write trace context in, after Kong's
// mapping of the deprecated header_type onto `propagation`.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "obs/trace_context.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/queue_config.hpp"

namespace portico::plugins::opentelemetry {

struct PropagationConfig {
  std::vector<std::string> extract, inject, clear;
  std::string default_format = "w3c";
  bool given = false;  // a field other than default_format was set (Kong then ignores header_type)
};

struct OtelConfig : plugin::ParsedConfig {
  std::string traces_endpoint, logs_endpoint;
  std::string endpoint;  // Kong's deprecated shorthand for traces_endpoint
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::pair<std::string, std::string>> resource_attributes;
  plugin::QueueConfig queue;
  int batch_span_count = -1;   // deprecated: queue.max_batch_size
  int batch_flush_delay = -1;  // deprecated: queue.max_coalescing_delay
  int connect_timeout = 1000, send_timeout = 5000, read_timeout = 5000;  // ms
  std::string http_response_header_for_traceid;
  std::string header_type = "preserve";  // deprecated: propagation
  double sampling_rate = -1;  // null: Kong's tracing_sampling_rate default, 0.01
  PropagationConfig propagation;
};

const plugin::ConfigSchema& config_schema();

// Kong's default sampling rate (kong.conf tracing_sampling_rate) when the entry sets none.
constexpr double kDefaultSamplingRate = 0.01;

// Where the trace context comes from and goes to, resolved once per instance.
struct Propagation {
  std::vector<obs::tracing::Format> extract;  // tried in order
  bool inject_preserve = false;               // "preserve": the format it came in (or default_format)
  std::vector<obs::tracing::Format> inject;   // written as well
  obs::tracing::Format default_format = obs::tracing::Format::w3c;
  std::vector<std::string> clear;             // request headers removed before the upstream
};
Propagation resolve_propagation(const OtelConfig& config);

}  // namespace portico::plugins::opentelemetry
