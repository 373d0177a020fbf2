// The grpc-gateway plugin (Kong's name and `proto` field): REST/JSON clients call a gRPC
// service through the routes of a .proto file's google.api.http annotations. See README.md.
//
//   access:            finds the binding of the request's method and path, builds the request
//                      message from the JSON body, the path's variables and the query, and
//                      sends it as a unary gRPC call (POST /package.Service/Method); gRPC
//                      clients (Content-Type application/grpc) pass through untouched.
//   response_body:     a unary answer (or any trailers-only one) read whole: its message as
//                      JSON, or its status as {"code","message","details"} with the HTTP status.
//   response_headers:  a server-streaming answer is transcoded as it comes (StreamTranscoder).
#include <memory>

#include "http/grpc.hpp"
#include "http/header_view.hpp"
#include "plugin/body_access.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"
#include "proto_api.hpp"
#include "transcode.hpp"

namespace portico::plugin {
namespace {

using grpc_gateway::ProtoApi;

struct GrpcGatewayConfig : ParsedConfig {
  std::string proto;                       // Kong's: the .proto file's path
  std::vector<std::string> include_paths;  // Portico's: more folders for its imports
  std::string stream_format = "ndjson";    // server streaming: "ndjson" or "array"
  bool emit_defaults = false;
  bool use_proto_names = false;
  std::shared_ptr<const ProtoApi> api;  // the file, loaded when the configuration is read
};

const ConfigSchema& config_schema() {
  using C = GrpcGatewayConfig;
  static const ConfigSchemaOf<C> schema(
      schema::Record<C>()
          .field("proto", &C::proto, {.nullable = true})
          .field("include_paths", &C::include_paths)
          .field("stream_format", &C::stream_format, {.one_of = {"ndjson", "array"}})
          .field("emit_defaults", &C::emit_defaults)
          .field("use_proto_names", &C::use_proto_names)
          .finish([](C& c, const boost::json::object&, schema::Errors& errors) {
            if (c.proto.empty()) return;  // Kong accepts it: every request is then refused
            std::string error;
            c.api = ProtoApi::load(c.proto, c.include_paths, error);
            if (!c.api) errors.push_back({"proto", error});
          }));
  return schema;
}

constexpr std::string_view kCors = "Access-Control-Allow-Origin: *\r\n";
constexpr std::string_view kPreflight =
    "Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: GET,POST,PATCH,DELETE\r\n"
    "Access-Control-Allow-Headers: content-type\r\n";

// The binding a request was transcoded with (null: passed through).
struct Call {
  const grpc_gateway::Binding* binding;
};

bool is_grpc_answer(const http::ResponseHead& r) { return http::is_grpc_content_type(r.find("Content-Type")); }

class GrpcGateway final : public Instance {
 public:
  GrpcGateway(const GrpcGatewayConfig& c, BuildContext&)
      : api_(c.api), ndjson_(c.stream_format == "ndjson"), style_{c.emit_defaults, c.use_proto_names} {}

  Access access(RequestContext& ctx) const override {
    if (http::is_grpc_content_type(ctx.request().find("Content-Type"))) return Access::next;  // a gRPC client's own call
    if (!api_) {
      ctx.reply(400, "transcoding requests require a .proto file defining the service", kCors);
      return Access::replied;
    }
    if (ctx.request().method == "OPTIONS") {  // Kong's answer to a preflight
      ctx.reply_json(200, R"({"message":"OK"})", kPreflight);
      return Access::replied;
    }
    if (ctx.service() == nullptr || !ctx.service()->uses_http2()) {
      ctx.reply(500, "grpc-gateway needs a service with protocol grpc or grpcs", kCors);
      return Access::replied;
    }
    ProtoApi::Found found = api_->find(ctx.request().method, ctx.path());
    if (found.binding == nullptr) {
      if (found.allowed.empty()) {
        reply_status(ctx, 404, 5, ctx.concat({"no method of the .proto is bound to ", ctx.request().method, " ", ctx.path()}));
      } else {
        reply_status(ctx, 405, 12, ctx.concat({ctx.path(), " is bound to ", found.allowed, " only"}),
                     ctx.concat({"Allow: ", found.allowed, "\r\n"}));
      }
      return Access::replied;
    }
    ctx.state<Call>(*this).binding = found.binding;
    return Access::suspend;  // the body is read (and replaced) even when the binding takes none
  }

  boost::asio::awaitable<Access> access_async(RequestContext& ctx) const override {
    bool read = co_await read_body_or_reply(ctx);  // (GCC 12: await into a variable, not in the if)
    if (!read) co_return Access::replied;
    ProtoApi::Found found;  // the binding access() found, its variables read again
    found.binding = ctx.state<Call>(*this).binding;
    found.binding->path.match(ctx.path(), found.captures);
    std::string frame, error;
    if (!grpc_gateway::encode_request(*api_, found, ctx.request().query, ctx.request_body(), frame, error)) {
      reply_status(ctx, 400, 3, error);
      co_return Access::replied;
    }
    ctx.request_body() = std::move(frame);
    ctx.set_upstream_method("POST");
    ctx.set_upstream_path(found.binding->grpc_path);
    ctx.set_upstream_query("");
    HeaderEdits& headers = ctx.upstream_headers();
    headers.set("Content-Type", "application/grpc");
    headers.set("TE", "trailers");
    headers.remove("Accept-Encoding");
    co_return Access::next;
  }

  BodyNeed response_body_need(const RequestContext& ctx) const override {
    const Call* call = ctx.existing_state<Call>(*this);
    const http::ResponseHead* r = ctx.upstream_response();
    if (call == nullptr || r == nullptr || !is_grpc_answer(*r)) return {};
    // A unary answer is read whole; so is a stream's trailers-only one (a status, no message).
    return {.wanted = !call->binding->server_streaming() || r->has("grpc-status")};
  }

  void response_body(RequestContext& ctx, std::string& body) const override {
    const Call* call = ctx.existing_state<Call>(*this);
    const http::ResponseHead* r = ctx.upstream_response();
    if (call == nullptr || r == nullptr || !is_grpc_answer(*r)) return;
    grpc_gateway::GrpcStatus status;
    for (const auto& h : r->headers) grpc_gateway::read_status_field(h.name, h.value, status);
    grpc_gateway::read_status_fields(ctx.upstream_trailers(), status);
    if (!status.present) return reply_status(ctx, 502, 2, "the service's answer has no gRPC status");
    if (status.code != 0) {
      ctx.reply_json(http::http_status_for_grpc(status.code),
                     ctx.store(grpc_gateway::status_json(*api_, status.code, status.message, status.details_bin)), kCors);
      return;
    }
    const grpc_gateway::Binding& binding = *call->binding;
    // The type is set here too, not only in response_headers: the response_body plugins after
    // this one (a response-transformer editing the JSON) read the type the client will get.
    if (binding.server_streaming()) {  // (read whole only when trailers-only: an OK without messages)
      ctx.set_response_header("Content-Type", content_type(binding));
      body = ndjson_ ? "" : "[]";
      return;
    }
    grpc_gateway::FrameReader frames(body.size());
    frames.append(body);
    std::string_view message;
    std::string error, json;
    std::size_t count = 0;
    for (;;) {
      auto next = frames.next(message, error);
      if (next == grpc_gateway::FrameReader::Next::need_more) break;
      if (next == grpc_gateway::FrameReader::Next::error ||
          !grpc_gateway::response_json(*api_, binding, message, style_, json, error)) {
        return reply_status(ctx, 502, 13, error);
      }
      ++count;
    }
    if (!frames.empty()) return reply_status(ctx, 502, 13, "the service's answer ends inside a message");
    if (count != 1) {
      return reply_status(ctx, 502, 13, "the service answered a unary call with " + std::to_string(count) + " messages");
    }
    ctx.set_response_header("Content-Type", content_type(binding));
    body = std::move(json);
  }

  void response_headers(RequestContext& ctx) const override {
    const Call* call = ctx.existing_state<Call>(*this);
    const http::ResponseHead* r = ctx.upstream_response();
    if (call == nullptr) return;
    ctx.add_response_header("Access-Control-Allow-Origin", "*");
    if (r == nullptr || !is_grpc_answer(*r)) return;  // not the service's gRPC answer: as it is
    const grpc_gateway::Binding& binding = *call->binding;
    ctx.set_response_header("Content-Type", content_type(binding));
    for (std::string_view name : {"grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-encoding",
                                  "grpc-accept-encoding"}) {
      if (r->has(name)) ctx.drop_response_header(name);  // (each drop costs the arena a copy)
    }
    if (binding.server_streaming() && !r->has("grpc-status")) {
      ctx.transform_response(std::make_unique<grpc_gateway::StreamTranscoder>(*api_, binding, style_, ndjson_, kMaxMessage));
    }
  }

 private:
  static constexpr std::uint64_t kMaxMessage = 8u << 20;

  std::string_view content_type(const grpc_gateway::Binding& binding) const {
    return binding.server_streaming() && ndjson_ ? "application/x-ndjson" : "application/json";
  }

  void reply_status(RequestContext& ctx, int http_status, int code, std::string_view message,
                    std::string_view extra_headers = {}) const {
    std::string body = grpc_gateway::status_json(*api_, code, message, {});  // (api_ is set past access's first checks)
    ctx.reply_json(http_status, ctx.store(body), extra_headers.empty() ? kCors : ctx.concat({kCors, extra_headers}));
  }

  std::shared_ptr<const ProtoApi> api_;
  bool ndjson_;
  grpc_gateway::JsonStyle style_;
};

}  // namespace

const Schema& grpc_gateway_schema() {
  static const Schema schema{
      .name = "grpc-gateway",
      .priority = 998,  // Kong's
      .phases = kAccess | kResponseHeaders | kResponseBody,
      .scopes = kGlobal | kService | kRoute | kConsumer,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate_as<GrpcGateway, GrpcGatewayConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
