// The proxy's side of the plugin engine: taking a context and running the access phase,
// answering a plugin's reply, reading a whole request body for a plugin (and sending it
// upstream from memory). Relaying a response whose body plugins rewrite: buffered_relay.cpp.
#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

#include "core/worker.hpp"
#include "http/grpc.hpp"
#include "http/h1_parser.hpp"
#include "http/status.hpp"
#include "proxy/backend_call.hpp"
#include "proxy/body_pump.hpp"
#include "proxy/exchange.hpp"
#include "proxy/io.hpp"
#include "proxy/upstream_pool.hpp"

namespace portico::proxy {

namespace asio = boost::asio;

namespace {
// The "message" of a plugin's JSON reply ({"message": "..."}, Kong's shape), or empty.
std::string reply_message(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  const boost::json::value* message = v.as_object().if_contains("message");
  return message != nullptr && message->is_string() ? std::string(message->as_string()) : std::string();
}
}  // namespace

plugin::Access DownstreamConnection::start_plugins(Exchange& ex) {
  const plugin::Chains& chains = ex.snapshot->route_chains[ex.match.route->route_index];
  ex.plugins = worker_.plugin_contexts().take();
  ex.plugins->begin(request_, request_ip_, ex.path, ex.match.route, ex.service ? ex.service->config : nullptr, &chains);
  ex.plugins->set_body_reader(this);
  ex.plugins->set_match(&ex.match);
  ex.plugins->set_server_port(listener_->port);
  ex.plugins->set_https(over_tls());
  const auto& options = worker_.options();
  ex.plugins->set_request_id(request_id_of(ex), options.request_id_upstream ? std::string_view(options.request_id_header)
                                                                            : std::string_view{});
  ex.plugins->set_backend_client(this);
  plugin_snapshot_ = ex.snapshot.get();
  return plugin::run_access(*ex.plugins);
}

namespace {
// The call's URL as a trace shows it: http://<service host:port or the fixed host><target>.
std::string call_url(const config::Snapshot& snapshot, const plugin::BackendRequest& request) {
  std::string url = "http://";
  if (request.fixed != nullptr) {
    url += request.fixed->host_header;
  } else if (request.service < snapshot.config.services.size()) {
    const auto& service = snapshot.config.services[request.service];
    url += service.host + ":" + std::to_string(service.port);
  }
  url += request.target;
  return url;
}

// `lines` (complete header lines) without the fields `replacements` sets, then `replacements`:
// a call's own trace context replaces the one the plugin set for the request's upstream.
std::string replace_header_lines(std::string_view lines, std::string_view replacements) {
  auto name_of = [](std::string_view line) { return line.substr(0, line.find(':')); };
  auto replaced = [&](std::string_view name) {
    for (std::size_t at = 0; at < replacements.size();) {
      std::size_t end = replacements.find("\r\n", at);
      if (end == std::string_view::npos) break;
      if (http::iequals(name_of(replacements.substr(at, end - at)), name)) return true;
      at = end + 2;
    }
    return false;
  };
  std::string out;
  for (std::size_t at = 0; at < lines.size();) {
    std::size_t end = lines.find("\r\n", at);
    end = end == std::string_view::npos ? lines.size() : end + 2;
    std::string_view line = lines.substr(at, end - at);
    if (!replaced(name_of(line))) out.append(line);
    at = end;
  }
  out.append(replacements);
  return out;
}
}  // namespace

asio::awaitable<plugin::BackendResult> DownstreamConnection::call(plugin::RequestContext& parent,
                                                                  const plugin::BackendRequest& request) {
  const plugin::CallTracer* tracer = parent.call_tracer();
  if (tracer == nullptr) co_return co_await call_backend(worker_, *plugin_snapshot_, parent, request);
  // Traced: the call carries the trace's headers and is reported with its outcome.
  const config::Snapshot& snapshot = *plugin_snapshot_;
  std::size_t id = 0;
  std::string_view trace_lines = tracer->call_started(parent, id);
  std::string lines = replace_header_lines(request.header_lines, trace_lines);
  plugin::BackendRequest traced = request;
  traced.header_lines = lines;
  auto start = std::chrono::steady_clock::now();
  plugin::BackendResult result = co_await call_backend(worker_, snapshot, parent, traced);
  std::string url = call_url(snapshot, request);
  plugin::CallTracer::Call what{request.method, url, result.ok() ? result.status : 0, result.error, start,
                                std::chrono::steady_clock::now()};
  tracer->call_finished(parent, id, what);
  co_return result;
}

asio::awaitable<PumpResult> DownstreamConnection::send_buffered_body(Side& upstream, const std::string& body) {
  std::array<asio::const_buffer, 2> parts{asio::buffer(head_.view().data(), head_.view().size()),
                                          asio::buffer(body.data(), body.size())};
  PumpResult result;
  auto ec = co_await write_all(upstream, parts);
  result.wrote_anything = !ec;
  if (ec) result.failure = ec == asio::error::timed_out ? PumpFailure::sink_timeout : PumpFailure::sink_failed;
  co_return result;
}

asio::awaitable<bool> DownstreamConnection::read_request_body(plugin::RequestContext& ctx) {
  const auto& options = worker_.options();
  if (request_.framing == http::BodyFraming::none) {
    ctx.set_request_body_read();
    co_return true;
  }
  // Reading may reuse the buffer the head's views point into: keep the head's bytes (from
  // the request line to the blank line; nothing was read since it was parsed) and parse
  // them again afterwards, so the views point into the copy.
  keep_request_head(ctx.saved_head());
  if (request_.expect_continue && in_.empty()) {
    Side client = client_side(options.client_body_timeout, options.client_body_timeout);
    if (co_await write_all(client, kContinueResponse)) {
      ctx.set_body_error(400, "client went away");
      co_return false;
    }
  }
  Side client = client_side(options.client_body_timeout, options.client_body_timeout);
  PumpSpec spec;
  spec.framing = request_.framing;
  spec.content_length = request_.content_length;
  spec.max_body = request_body_limit(&ctx);
  if (spec.max_body == 0) spec.max_body = kMaxPluginBody;
  PumpResult got = co_await collect_body(client, spec, ctx.request_body());
  switch (got.failure) {
    case PumpFailure::none: break;
    case PumpFailure::too_large:
      if (plugin_limits_body(&ctx)) {
        ctx.set_body_error(ctx.request_body_limit_status(), ctx.request_body_limit_message());
      } else {
        ctx.set_body_error(413, "request body too large");
      }
      co_return false;
    case PumpFailure::source_malformed: ctx.set_body_error(400, "malformed chunked request body"); co_return false;
    case PumpFailure::source_timeout: ctx.set_body_error(408, "timed out reading the request body"); co_return false;
    default: ctx.set_body_error(400, "the request body could not be read"); co_return false;
  }
  ctx.set_request_body_read();
  co_return true;
}

asio::awaitable<DownstreamConnection::Next> DownstreamConnection::send_plugin_reply(Exchange& ex) {
  const plugin::RequestContext& ctx = *ex.plugins;
  AnswerConnection after = own_answer_connection(request_.framing != http::BodyFraming::none);  // body not read
  bool close = after.close;
  if (ctx.reply_is_stored()) {
    // A stored response: its body goes out from where it is stored, next to a fresh head.
    std::string extra_lines(ctx.response_headers());
    append_request_id_line(&ex, extra_lines);
    std::string head = http::stored_response_head(ctx.reply_status(), ctx.reply_headers(), extra_lines,
                                                  ctx.reply_body().size(),
                                                  close ? "close" : after.tell_keep_alive ? "keep-alive" : "");
    bool with_body = request_.method != "HEAD" && ctx.reply_status() != 204 && ctx.reply_status() != 304;
    std::string_view body = with_body ? ctx.reply_body() : std::string_view{};
    count_response_status(ctx.reply_status());
    Side side = client_side(worker_.options().client_body_timeout, worker_.options().client_body_timeout);
    std::array<asio::const_buffer, 2> parts{asio::buffer(head.data(), head.size()), asio::buffer(body.data(), body.size())};
    auto ec = co_await write_all(side, parts);
    ex.status = ctx.reply_status();
    ex.bytes_sent = ec ? 0 : head.size() + body.size();
    ex.body_bytes_sent = ec ? 0 : body.size();
    ex.plugins->kept_answer() = std::move(head);  // for the log phase
    ex.plugins->served.response_head = ex.plugins->kept_answer();
    if (close) closing_ = true;
    co_return (close || ec) ? Next::close : Next::keep_alive;
  }
  // Headers earlier plugins set for the client (a rate limit's) go with the answer, as in Kong.
  std::string extra_headers = std::string(ctx.reply_headers()) + std::string(ctx.response_headers());
  append_request_id_line(&ex, extra_headers);
  if (grpc_request()) {  // a gRPC status, trailers-only; the message is the reply's own
    co_return co_await send_response(&ex, ctx.reply_status(),
                                     http::grpc_error_response(ctx.reply_status(), reply_message(ctx.reply_body()),
                                                               extra_headers),
                                     false);
  }
  if (after.tell_keep_alive) extra_headers += kKeepAliveLine;
  co_return co_await send_response(&ex, ctx.reply_status(),
                                   http::json_response(ctx.reply_status(), ctx.reply_body(), close, extra_headers,
                                                       request_.method == "HEAD"),
                                   close);
}

std::uint64_t DownstreamConnection::request_body_limit(const plugin::RequestContext* ctx) const {
  std::uint64_t gateway = worker_.options().max_body_size;
  std::uint64_t plugin = ctx != nullptr ? ctx->request_body_limit() : 0;
  if (plugin == 0) return gateway;
  return gateway == 0 ? plugin : std::min(gateway, plugin);
}

bool DownstreamConnection::plugin_limits_body(const plugin::RequestContext* ctx) const {
  std::uint64_t gateway = worker_.options().max_body_size;
  return ctx != nullptr && ctx->request_body_limit() != 0 && (gateway == 0 || ctx->request_body_limit() <= gateway);
}

}  // namespace portico::proxy
