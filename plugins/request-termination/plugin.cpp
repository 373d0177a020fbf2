// The request-termination plugin (Kong's, priority 2): answers every request it applies to
// itself, with a fixed status and message or body, so the service behind the route is never
// called (maintenance, a route being retired, a blocked consumer). See README.md.
//
//   access: unless `trigger` names a header or query argument the request does not carry,
//           answers with `status_code` and `body` (as it is, under `content_type`) or with
//           Kong's {"message": ...} (the configured `message`, else Kong's default text for
//           the status, else no body).
#include <memory>

#include "config/validators.hpp"
#include "http/params.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"

namespace portico::plugin {
namespace {

struct TerminationConfig : ParsedConfig {
  int status_code = 503;
  std::string message, content_type, body;
  bool echo = false;
  std::string trigger;
};

const ConfigSchema& config_schema() {
  using C = TerminationConfig;
  static const ConfigSchemaOf<C> schema(
      schema::Record<C>()
          .field("status_code", &C::status_code, {.min = 100, .max = 599})
          .field("message", &C::message, {.nullable = true})
          .field("content_type", &C::content_type, {.nullable = true})
          .field("body", &C::body, {.nullable = true})
          .field("echo", &C::echo)
          .field("trigger", &C::trigger, {.nullable = true})
          .check([](const C& c, schema::Errors& errors) {
            // Kong's custom validator, with its messages.
            if (!c.message.empty() && (!c.content_type.empty() || !c.body.empty())) {
              errors.push_back({"message", "message cannot be used with content_type or body"});
            }
            if (!c.content_type.empty() && c.body.empty()) {
              errors.push_back({"content_type", "content_type requires a body"});
            }
            if (c.echo && (!c.content_type.empty() || !c.body.empty())) {
              errors.push_back({"echo", "echo cannot be used with content_type and body"});
            } else if (c.echo) {
              // Kong's echo answers with the request (headers, query, body, the matched route
              // and service) as JSON; refused until Portico writes the same document.
              errors.push_back({"echo", "echo is not supported yet by Portico"});
            }
            if (!c.trigger.empty() && !config::is_valid_header_name(c.trigger)) {
              errors.push_back({"trigger", "bad header name '" + c.trigger + "'"});
            }
          }));
  return schema;
}

// Kong's texts for a status when no message is configured (handler.lua's DEFAULT_RESPONSE);
// other statuses answer without a body.
std::string_view default_message(int status) {
  switch (status) {
    case 401: return "Unauthorized";
    case 404: return "Not found";
    case 405: return "Method not allowed";
    case 500: return "An unexpected error occurred";
    case 502: return "Bad Gateway";
    case 503: return "Service unavailable";
    default: return {};
  }
}

class RequestTermination final : public Instance {
 public:
  RequestTermination(const TerminationConfig& config, BuildContext&)
      : config_(config),
        // A body is sent as configured, from the configuration's memory (alive while the
        // request runs), under its Content-Type if one is set (none otherwise, as Kong), with
        // the Server field of every answer the gateway makes itself.
        stored_headers_((config.content_type.empty() ? std::string() : "Content-Type: " + config.content_type + "\r\n") +
                        "Server: portico/" PORTICO_VERSION "\r\n") {}

  Access access(RequestContext& ctx) const override {
    if (!config_.trigger.empty() && !triggered(ctx.request())) return Access::next;
    std::string_view message = config_.message.empty() ? default_message(config_.status_code) : config_.message;
    if (config_.body.empty() && !message.empty()) {
      ctx.reply(config_.status_code, message);
    } else {
      // The configured body, or none. reply_stored() sends memory someone keeps alive: here
      // this instance and its configuration, which the request's snapshot holds, so the
      // (aliasing) pointer owns nothing.
      ctx.reply_stored(config_.status_code, stored_headers_, config_.body,
                       std::shared_ptr<const void>(std::shared_ptr<const void>(), this));
    }
    return Access::replied;
  }

 private:
  // Kong: the trigger is a header or a query argument of that name, whatever its value.
  bool triggered(const http::RequestHead& request) const {
    if (request.has(config_.trigger)) return true;
    bool found = false;
    std::string decoded;
    http::for_each_query_arg(request.query, [&](std::string_view key, std::string_view) {
      if (found) return;
      found = key == config_.trigger || (http::percent_decode(key, decoded) && decoded == config_.trigger);
    });
    return found;
  }

  const TerminationConfig& config_;
  const std::string stored_headers_;
};

}  // namespace

const Schema& request_termination_schema() {
  static const Schema schema{
      .name = "request-termination",
      .priority = 2,  // Kong's: after authentication, rate limiting and the others
      .phases = kAccess,
      .scopes = kGlobal | kService | kRoute | kConsumer,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate_as<RequestTermination, TerminationConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
