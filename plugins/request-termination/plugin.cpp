// The request-termination plugin (Kong's, priority 2): answers every request it applies to
// itself, with a fixed status and message or body, so the service behind the route is never
// called (maintenance, a route being retired, a blocked consumer). See README.md.
//
//   access: unless `trigger` names a header or query argument the request does not carry,
//           answers with `status_code` and `body` (as it is, under `content_type`) or with
//           Kong's {"message": ...} (the configured `message`, else Kong's default text for
//           the status, else no body).
//   access_async (echo): reads the request body, answers with Kong's JSON copy of the request
//           (echo_document below).
#include <boost/json.hpp>
#include "core/system_info.hpp"
#include <re2/re2.h>

#include <unistd.h>

#include <memory>

#include "config/export.hpp"
#include "config/validators.hpp"
#include "core/uuid.hpp"
#include "http/caching.hpp"
#include "http/forms.hpp"
#include "http/params.hpp"
#include "plugin/body_access.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"
#include "plugin/request_json.hpp"
#include "plugin/transform_entries.hpp"
#include "router/router.hpp"

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

namespace json = boost::json;

// kong.request.get_body(): a JSON, form-urlencoded or multipart body as a table; nothing for
// other types, an empty or an unreadable body (Kong returns nil and an error there).
json::value body_json(std::string_view content_type, std::string_view body) {
  if (body.empty()) return nullptr;
  if (is_json_content_type(content_type)) {
    boost::system::error_code ec;
    json::value parsed = json::parse(body, ec);
    return ec ? json::value(nullptr) : parsed;
  }
  std::string type = http::media_type_essence(content_type);
  if (type == "application/x-www-form-urlencoded") return args_json(body);
  if (type == "multipart/form-data") {
    auto boundary = http::forms::multipart_boundary(content_type);
    auto parsed = boundary ? http::forms::parse_multipart(body, *boundary) : std::nullopt;
    if (!parsed) return nullptr;
    json::object fields;
    for (const auto& part : parsed->parts) add_to_table(fields, part.name, json::string(part.body));
    return fields;
  }
  return nullptr;
}

class RequestTermination final : public Instance {
 public:
  RequestTermination(const TerminationConfig& config, BuildContext& build)
      : config_(config),
        config_model_(build.config),
        // A body is sent as configured, from the configuration's memory (alive while the
        // request runs), under its Content-Type if one is set (none otherwise, as Kong), with
        // the Server field of every answer the gateway makes itself.
        stored_headers_((config.content_type.empty() ? std::string() : "Content-Type: " + config.content_type + "\r\n") +
                        "Server: portico/" PORTICO_VERSION "\r\n") {}

  Access access(RequestContext& ctx) const override {
    if (!config_.trigger.empty() && !triggered(ctx.request())) return Access::next;
    if (config_.echo) return Access::suspend;  // the body is read first
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

  boost::asio::awaitable<Access> access_async(RequestContext& ctx) const override {
    bool read = co_await read_body_or_reply(ctx);  // (GCC 12: await into a variable, not in the if)
    if (!read) co_return Access::replied;
    ctx.reply_json(config_.status_code, json::serialize(echo_document(ctx)));
    co_return Access::replied;
  }

 private:
  // Kong's echo: the message, the node, the request as the gateway received it (host without
  // its port, the listener's port, headers, query and body as Kong's tables, the raw body, the
  // normalised path, the route's regex captures), and the matched route and service as the
  // Admin API shows them. Fields Kong would leave nil are left out.
  json::object echo_document(const RequestContext& ctx) const {
    const http::RequestHead& req = ctx.request();
    std::string_view message = config_.message.empty() ? default_message(config_.status_code) : config_.message;
    json::object request{
        {"scheme", ctx.scheme()},
        {"host", http::ascii_lower(http::host_without_port(req.host))},
        {"port", ctx.server_port()},
        {"headers", headers_json(req)},
        {"query", args_json(req.query)},
        {"raw_body", ctx.request_body()},
        {"method", req.method},
        {"path", ctx.path()},
        {"uri_captures", uri_captures(ctx)},
    };
    json::value body = body_json(req.find("Content-Type"), ctx.request_body());
    if (!body.is_null()) request["body"] = std::move(body);
    json::object doc;
    if (!message.empty()) doc["message"] = message;
    doc["kong"] = json::object{{"node_id", process_node_id()}, {"worker_pid", static_cast<std::int64_t>(getpid())},
                               {"hostname", hostname_}};
    doc["request"] = std::move(request);
    if (const auto* route = ctx.route(); route != nullptr && route->route_index < config_model_.routes.size()) {
      doc["matched_route"] = config::without_nulls(config::route_json(config_model_.routes[route->route_index], config_model_));
    }
    if (const auto* service = ctx.service(); service != nullptr) {
      doc["matched_service"] = config::without_nulls(config::service_json(*service));
    }
    return doc;
  }

  // kong.request.get_uri_captures(): `unnamed` the whole match then each group in order (a
  // group that took no part is null), `named` the named groups that matched.
  static json::object uri_captures(const RequestContext& ctx) {
    json::array unnamed;
    json::object named;
    const router::MatchResult* match = ctx.match();
    if (match != nullptr && match->regex != nullptr) {
      for (std::size_t i = 0; i <= match->captures.size(); ++i) {
        auto value = ctx.path_capture(std::to_string(i));
        unnamed.push_back(value ? json::value(json::string(*value)) : json::value(nullptr));
      }
      for (const auto& [name, index] : match->regex->NamedCapturingGroups()) {
        if (auto value = ctx.path_capture(name)) named[name] = *value;
      }
    }
    return json::object{{"unnamed", std::move(unnamed)}, {"named", std::move(named)}};
  }

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
  const config::DeclarativeConfig& config_model_;  // the snapshot's, alive while this instance is
  const std::string stored_headers_;
  const std::string hostname_ = host_name();
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
