// The http-log plugin (Kong's, priority 12): each request's serialized log record (Kong's,
// plugin/log_serializer.hpp) is queued by the worker and delivered by the control thread to
// `http_endpoint`, in batches, with retries (obs/batch_sender.hpp). See README.md.
#include <boost/url/parse.hpp>

#include <memory>

#include "config/validators.hpp"
#include "obs/batch_sender.hpp"
#include "http/h1_parser.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/counters.hpp"
#include "plugin/log_serializer.hpp"
#include "plugin/queue_config.hpp"
#include "plugin/request_context.hpp"
#include "proxy/shared_state.hpp"

namespace portico::plugin {
namespace {

std::atomic<std::uint64_t>& g_sent = plugin::counter("http_log_entries_sent");
std::atomic<std::uint64_t>& g_dropped = plugin::counter("http_log_entries_dropped");
std::atomic<std::uint64_t>& g_failures = plugin::counter("http_log_send_failures");

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
              if (auto problem = config::http_url_problem(c.http_endpoint); !problem.empty()) {
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
            check_queue(c.queue, errors);
          }));
  return schema;
}

// Kong sends one record as an object, and a JSON array once batches may hold more than one.
std::string batch_payload(std::vector<std::string>& batch, std::size_t max_batch_size) {
  if (max_batch_size == 1) return std::move(batch.front());
  std::string body = "[";
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (i > 0) body += ',';
    body += batch[i];
  }
  body += ']';
  return body;
}

obs::BatchSenderOptions sender_options(const HttpLogConfig& c) {
  obs::BatchSenderOptions o;
  o.name = "http-log";
  o.endpoint = c.http_endpoint;
  o.method = c.method;
  o.header_lines = "Content-Type: " + c.content_type + "\r\n";
  for (const auto& [name, value] : c.headers) o.header_lines += name + ": " + value + "\r\n";
  o.timeout_ms = static_cast<int>(c.timeout);
  apply_queue(c.queue, o);
  // Kong's deprecated fields still count when the queue's own are left at their defaults.
  if (c.queue_size > 1 && c.queue.max_batch_size == 1) o.max_batch_size = static_cast<std::size_t>(c.queue_size);
  if (c.flush_timeout >= 0 && c.queue.max_coalescing_delay == 1) o.max_coalescing_delay = c.flush_timeout;
  o.payload = [max = o.max_batch_size](std::vector<std::string>& batch) { return batch_payload(batch, max); };
  o.sent = &g_sent, o.dropped = &g_dropped, o.failures = &g_failures;
  return o;
}

std::shared_ptr<const Instance> instantiate(const ParsedConfig& parsed, BuildContext& build) {
  const auto& c = static_cast<const HttpLogConfig&>(parsed);
  // Kong keys a queue by the plugin and its configuration: an unchanged entry keeps its queue
  // (and what is in it) across reloads.
  auto sender = build.shared.plugin_state<obs::BatchSender>(
      "http-log|" + build.key + "|" + boost::json::serialize(config_schema().write(c)),
      [&] { return obs::BatchSender::start(build.control, sender_options(c)); });
  return std::make_shared<RecordLogger<obs::BatchSender>>(build.config, std::move(sender));
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
