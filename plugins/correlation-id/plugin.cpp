// The correlation-id plugin (Kong's, priority 100001: before everything else): every request
// carries an id in `header_name` to the upstream, the client's own kept when it sent one, and
// optionally echoed to the client (`echo_downstream`). See README.md.
//
//   access: the client's id, or a new one from `generator`, set upstream (and for the gateway's
//           own calls), and echoed to the client with echo_downstream.
#include "core/uuid.hpp"
#include "config/validators.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"

namespace portico::plugin {
namespace {

struct CorrelationConfig : ParsedConfig {
  std::string header_name = "Kong-Request-ID";
  std::string generator = "uuid#counter";
  bool echo_downstream = false;
};

const ConfigSchema& config_schema() {
  using C = CorrelationConfig;
  static const ConfigSchemaOf<C> schema(
      schema::Record<C>()
          .field("header_name", &C::header_name, {.len_min = 1})
          .field("generator", &C::generator, {.one_of = {"uuid", "uuid#counter", "tracker"}})
          .field("echo_downstream", &C::echo_downstream)
          .check([](const C& c, schema::Errors& errors) {
            if (!c.header_name.empty() && !config::is_valid_header_name(c.header_name)) {
              errors.push_back({"header_name", "'" + c.header_name + "' is not a valid header name"});
            }
            if (c.generator == "tracker") {
              // Kong's tracker joins nginx's server address, port, connection serial number and
              // requests on it; the plugin context does not carry those yet.
              errors.push_back({"generator", "'tracker' is not supported yet by Portico (use uuid or uuid#counter)"});
            }
          }));
  return schema;
}

// uuid#counter: one UUID per worker thread, then a counter per request (as Kong's per-worker
// UUID), so ids stay unique across workers and cost no random draw per request.
std::string_view next_counter_id(RequestContext& ctx) {
  thread_local std::string prefix = random_uuid() + "#";
  thread_local std::uint64_t counter = 0;
  return ctx.concat({prefix, std::to_string(++counter)});
}

class CorrelationId final : public Instance {
 public:
  CorrelationId(const CorrelationConfig& config, BuildContext&) : config_(config) {}

  Access access(RequestContext& ctx) const override {
    std::string_view id = ctx.request().find(config_.header_name);
    if (id.empty()) id = config_.generator == "uuid" ? ctx.store(random_uuid()) : next_counter_id(ctx);
    else id = ctx.store(id);  // the client's, kept as it came
    // Set as an upstream edit even when the client sent it: the gateway's own calls made for
    // this request (the aggregate plugin's) carry it too.
    ctx.upstream_headers().set(config_.header_name, id);
    // Added now, it goes out with every answer: the upstream's and any plugin's (a 401...).
    if (config_.echo_downstream) ctx.add_response_header(config_.header_name, id);
    return Access::next;
  }

 private:
  const CorrelationConfig& config_;
};

}  // namespace

const Schema& correlation_id_schema() {
  static const Schema schema{
      .name = "correlation-id",
      .priority = 100001,  // Kong's: first of all, so every other plugin and the logs see the id
      .phases = kAccess,
      .scopes = kGlobal | kService | kRoute | kConsumer,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate_as<CorrelationId, CorrelationConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
