// The http-log plugin (Kong's, priority 12): each request's serialized log record (Kong's,
// plugin/log_serializer.hpp) is queued by the worker and delivered by the control thread to
// `http_endpoint`, in batches, with retries (sender.hpp). See README.md.
#include <boost/url/parse.hpp>

#include <memory>

#include "config/validators.hpp"
#include "http/h1_parser.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/log_serializer.hpp"
#include "plugin/request_context.hpp"
#include "plugins/http-log/sender.hpp"
#include "proxy/shared_state.hpp"

namespace portico::plugin {
namespace {

// Kong's `queue` record (kong/tools/queue_schema.lua).
struct QueueConfig {
  int max_batch_size = 1;
  double max_coalescing_delay = 1;
  int max_entries = 10000;
  int max_bytes = -1;  // null: unbounded (the entry count bounds the queue)
  double max_retry_time = 60;
  double initial_retry_delay = 0.01;
  double max_retry_delay = 60;
  int concurrency_limit = 1;
};

struct HttpLogConfig : ParsedConfig {
  std::string http_endpoint;
  std::string method = "POST";
  std::string content_type = "application/json";
  double timeout = 10000;
  double keepalive = 60000;
  int retry_count = -1;      // deprecated in Kong: no effect
  int queue_size = -1;       // deprecated in Kong: queue.max_batch_size
  double flush_timeout = -1; // deprecated in Kong: queue.max_coalescing_delay
  std::vector<std::pair<std::string, std::string>> headers;
  QueueConfig queue;
  std::vector<std::pair<std::string, std::string>> custom_fields_by_lua;
};

const schema::Record<QueueConfig>& queue_record() {
  using Q = QueueConfig;
  static const auto record = schema::Record<Q>()
                                 .field("max_batch_size", &Q::max_batch_size, {.min = 1, .max = 1000000})
                                 .field("max_coalescing_delay", &Q::max_coalescing_delay, {.min = 0, .max = 3600})
                                 .field("max_entries", &Q::max_entries, {.min = 1, .max = 1000000})
                                 .field("max_bytes", &Q::max_bytes, {.nullable = true})
                                 .field("max_retry_time", &Q::max_retry_time)
                                 .field("initial_retry_delay", &Q::initial_retry_delay, {.min = 0.001, .max = 1000000})
                                 .field("max_retry_delay", &Q::max_retry_delay, {.min = 0.001, .max = 1000000})
                                 .field("concurrency_limit", &Q::concurrency_limit, {.min = -1, .max = 1});
  return record;
}

std::string endpoint_problem(const std::string& url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->host().empty()) {
    return "missing host in url";
  }
  return "";
}

const ConfigSchema& config_schema() {
  using C = HttpLogConfig;
  static const ConfigSchemaOf<C> schema(
      schema::Record<C>()
          .field("http_endpoint", &C::http_endpoint, {.required = true})
          .field("method", &C::method, {.one_of = {"POST", "PUT", "PATCH"}})
          .field("content_type", &C::content_type, {.one_of = {"application/json", "application/json; charset=utf-8"}})
          .field("timeout", &C::timeout)
          .field("keepalive", &C::keepalive)
          .field("retry_count", &C::retry_count, {.nullable = true})
          .field("queue_size", &C::queue_size, {.nullable = true})
          .field("flush_timeout", &C::flush_timeout, {.nullable = true})
          .field("headers", &C::headers)
          .record<QueueConfig>("queue", [](C& c) -> QueueConfig& { return c.queue; }, queue_record())
          .field("custom_fields_by_lua", &C::custom_fields_by_lua)
          .check([](const C& c, schema::Errors& errors) {
            if (!c.http_endpoint.empty()) {
              if (auto problem = endpoint_problem(c.http_endpoint); !problem.empty()) {
                errors.push_back({"http_endpoint", problem});
              }
            }
            bool authorization = false;
            for (const auto& [name, value] : c.headers) {
              if (!config::is_valid_header_name(name)) errors.push_back({"headers", "'" + name + "' is not a valid header name"});
              for (std::string_view refused : {"host", "content-length", "content-type"}) {
                if (http::iequals(name, refused)) {
                  std::string shown = refused == "host" ? "Host" : refused == "content-length" ? "Content-Length"
                                                                                              : "Content-Type";
                  errors.push_back({"headers", "cannot contain '" + shown + "' header"});
                }
              }
              authorization = authorization || http::iequals(name, "authorization");
            }
            auto parsed = boost::urls::parse_absolute_uri(c.http_endpoint);
            if (authorization && parsed && parsed->has_userinfo()) {
              errors.push_back({"", "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed"});
            }
            if (!c.custom_fields_by_lua.empty()) {
              errors.push_back({"custom_fields_by_lua", "Lua code is not supported by Portico"});
            }
            if (c.queue.concurrency_limit == 0) errors.push_back({"queue.concurrency_limit", "expected one of: -1, 1"});
          }));
  return schema;
}

plugins::http_log::SenderOptions sender_options(const HttpLogConfig& c) {
  plugins::http_log::SenderOptions o;
  o.endpoint = c.http_endpoint;
  o.method = c.method;
  o.content_type = c.content_type;
  for (const auto& [name, value] : c.headers) o.header_lines += name + ": " + value + "\r\n";
  o.timeout_ms = static_cast<int>(c.timeout);
  o.max_batch_size = static_cast<std::size_t>(c.queue.max_batch_size);
  o.max_coalescing_delay = c.queue.max_coalescing_delay;
  // Kong's deprecated fields still count when the queue's own are left at their defaults.
  if (c.queue_size > 1 && c.queue.max_batch_size == 1) o.max_batch_size = static_cast<std::size_t>(c.queue_size);
  if (c.flush_timeout >= 0 && c.queue.max_coalescing_delay == 1) o.max_coalescing_delay = c.flush_timeout;
  o.max_entries = static_cast<std::size_t>(c.queue.max_entries);
  o.max_retry_time = c.queue.max_retry_time;
  o.initial_retry_delay = c.queue.initial_retry_delay;
  o.max_retry_delay = c.queue.max_retry_delay;
  return o;
}

std::shared_ptr<const Instance> instantiate(const ParsedConfig& parsed, BuildContext& build) {
  const auto& c = static_cast<const HttpLogConfig&>(parsed);
  // Kong keys a queue by the plugin and its configuration: an unchanged entry keeps its queue
  // (and what is in it) across reloads.
  auto sender = build.shared.plugin_state<plugins::http_log::Sender>(
      "http-log|" + build.key + "|" + boost::json::serialize(config_schema().write(c)),
      [&] { return plugins::http_log::Sender::start(build.control, sender_options(c)); });
  return std::make_shared<RecordLogger<plugins::http_log::Sender>>(build.config, std::move(sender));
}

}  // namespace

const Schema& http_log_schema() {
  static const Schema schema{
      .name = "http-log",
      .priority = 12,  // Kong's
      .phases = kLog,
      .scopes = kGlobal | kService | kRoute | kConsumer,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate,
  };
  return schema;
}

}  // namespace portico::plugin
