#include "plugins/opentelemetry/config.hpp"

#include "config/validators.hpp"

namespace portico::plugins::opentelemetry {
namespace {

using obs::tracing::Format;

// Kong's propagation formats; instana is Kong's too but Portico does not speak it.
const std::vector<std::string> kFormats = {"w3c", "b3", "b3-single", "jaeger", "ot", "datadog", "aws", "gcp", "instana"};

std::vector<std::string> without(std::vector<std::string> list, const std::string& name) {
  std::erase(list, name);
  return list;
}
std::vector<std::string> with(std::vector<std::string> list, const std::string& name) {
  list.insert(list.begin(), name);
  return list;
}

std::string header_name_problem(const std::string& name) {
  if (config::is_valid_header_name(name)) return "";
  return "bad header name '" + name + "', allowed characters are A-Z, a-z, 0-9, '_', and '-'";
}

const schema::Record<PropagationConfig>& propagation_record() {
  using P = PropagationConfig;
  static const auto record =
      schema::Record<P>()
          .field("extract", &P::extract, {.one_of = without(kFormats, "b3-single")})
          .field("inject", &P::inject, {.one_of = with(kFormats, "preserve")})
          .field("clear", &P::clear, {.check = header_name_problem})
          .field("default_format", &P::default_format, {.one_of = kFormats, .required = true})
          .finish([](P& p, const boost::json::object& input, schema::Errors&) {
            for (const char* key : {"extract", "inject", "clear"}) {
              if (const auto* v = input.if_contains(key); v != nullptr && !v->is_null()) p.given = true;
            }
          });
  return record;
}

void refuse_instana(const std::vector<std::string>& formats, const std::string& path, schema::Errors& errors) {
  for (const auto& f : formats) {
    if (f == "instana") errors.push_back({path, "the instana format is not supported by Portico"});
  }
}

}  // namespace

const plugin::ConfigSchema& config_schema() {
  using C = OtelConfig;
  static const plugin::ConfigSchemaOf<C> schema(
      schema::Record<C>()
          .field("traces_endpoint", &C::traces_endpoint, {.nullable = true})
          .field("logs_endpoint", &C::logs_endpoint, {.nullable = true})
          .field("endpoint", &C::endpoint, {.nullable = true, .input_only = true})
          .field("headers", &C::headers)
          .field("resource_attributes", &C::resource_attributes,
                 {.check = [](const std::string& v) { return v.empty() ? std::string("length must be at least 1") : ""; }})
          .record<plugin::QueueConfig>("queue", [](C& c) -> plugin::QueueConfig& { return c.queue; }, plugin::queue_record())
          .field("batch_span_count", &C::batch_span_count, {.nullable = true})
          .field("batch_flush_delay", &C::batch_flush_delay, {.nullable = true})
          .field("connect_timeout", &C::connect_timeout, {.min = 0, .max = 2147483646})
          .field("send_timeout", &C::send_timeout, {.min = 0, .max = 2147483646})
          .field("read_timeout", &C::read_timeout, {.min = 0, .max = 2147483646})
          .field("http_response_header_for_traceid", &C::http_response_header_for_traceid, {.nullable = true})
          .field("header_type", &C::header_type,
                 {.one_of = {"preserve", "ignore", "b3", "b3-single", "w3c", "jaeger", "ot", "aws", "gcp", "datadog",
                             "instana"}})
          .field("sampling_rate", &C::sampling_rate, {.min = 0, .max = 1, .nullable = true})
          .record<PropagationConfig>("propagation", [](C& c) -> PropagationConfig& { return c.propagation; },
                                     propagation_record())
          .finish([](C& c, const boost::json::object& input, schema::Errors&) {
            // Kong's shorthand: `endpoint` is traces_endpoint.
            if (c.traces_endpoint.empty() && !c.endpoint.empty()) c.traces_endpoint = c.endpoint;
            // The plugin's queue default is 200 spans a batch (only when no queue is given).
            if (!input.contains("queue")) c.queue.max_batch_size = 200;
            // Kong's deprecated batching fields, when set to other than their old defaults.
            if (c.batch_span_count > 0 && c.batch_span_count != 200) c.queue.max_batch_size = c.batch_span_count;
            if (c.batch_flush_delay >= 0 && c.batch_flush_delay != 3) c.queue.max_coalescing_delay = c.batch_flush_delay;
          })
          .check([](const C& c, schema::Errors& errors) {
            if (c.traces_endpoint.empty() && c.logs_endpoint.empty()) {
              errors.push_back({"", "at least one of these fields must be non-empty: 'traces_endpoint', 'logs_endpoint'"});
            }
            if (!c.traces_endpoint.empty()) {
              if (auto problem = config::http_url_problem(c.traces_endpoint); !problem.empty()) {
                errors.push_back({"traces_endpoint", problem});
              }
            }
            if (!c.logs_endpoint.empty()) {
              errors.push_back({"logs_endpoint", "OTLP logs are not supported by Portico (traces are): use "
                                                 "traces_endpoint, and file-log or http-log for logs"});
            }
            for (const auto& [name, value] : c.headers) {
              if (auto problem = header_name_problem(name); !problem.empty()) errors.push_back({"headers", problem});
            }
            if (!c.http_response_header_for_traceid.empty()) {
              if (auto problem = header_name_problem(c.http_response_header_for_traceid); !problem.empty()) {
                errors.push_back({"http_response_header_for_traceid", problem});
              }
            }
            if (c.header_type == "instana") errors.push_back({"header_type", "the instana format is not supported by Portico"});
            refuse_instana(c.propagation.extract, "propagation.extract", errors);
            refuse_instana(c.propagation.inject, "propagation.inject", errors);
            refuse_instana({c.propagation.default_format}, "propagation.default_format", errors);
            plugin::check_queue(c.queue, errors);
          }));
  return schema;
}

Propagation resolve_propagation(const OtelConfig& c) {
  auto format = [](const std::string& name) { return obs::tracing::format_named(name).value_or(Format::w3c); };
  Propagation p;
  p.default_format = format(c.propagation.default_format);
  p.clear = c.propagation.clear;
  std::vector<std::string> extract = c.propagation.extract, inject = c.propagation.inject;
  if (!c.propagation.given) {
    // Kong's mapping of the deprecated header_type (propagation/init.lua get_plugin_params):
    // extract every format, inject the one found (preserve), plus header_type's own.
    const std::vector<std::string> all = {"b3", "w3c", "jaeger", "ot", "datadog", "aws", "gcp"};
    if (c.header_type == "ignore") {
      extract.clear();
      inject = {c.propagation.default_format};
    } else {
      extract = all;
      inject = {"preserve"};
      if (c.header_type != "preserve") inject.push_back(c.header_type);
    }
  }
  for (const auto& name : extract) p.extract.push_back(format(name));
  for (const auto& name : inject) {
    if (name == "preserve") p.inject_preserve = true;
    else p.inject.push_back(format(name));
  }
  return p;
}

}  // namespace portico::plugins::opentelemetry
