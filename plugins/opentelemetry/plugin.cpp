// The opentelemetry plugin (Kong's, priority 14): traces each request it applies to and
// exports the spans over OTLP/HTTP. See README.md and docs/kong-reference/opentelemetry.md.
//
//   access: reads the caller's trace context (propagation.extract), or starts a trace;
//           decides sampling (Kong's ratio sampler on the trace id, parent-based for a
//           caller that said "not sampled"); writes the context the service continues
//           (propagation.inject: the last upstream try's span as the parent) and, if
//           configured, the trace id on the answer; follows the request's backend calls.
//   log:    a sampled request's spans (spans.hpp), each encoded on the worker and queued;
//           the control thread sends them in batches (obs::BatchSender), never the worker.
#include <memory>

#include "config/validators.hpp"
#include "core/uuid.hpp"
#include "obs/batch_sender.hpp"
#include "plugin/counters.hpp"
#include "plugin/request_context.hpp"
#include "plugins/opentelemetry/config.hpp"
#include "plugins/opentelemetry/spans.hpp"
#include "proxy/shared_state.hpp"
#include "router/router.hpp"

namespace portico::plugin {
namespace {

namespace otel = plugins::opentelemetry;
namespace tracing = obs::tracing;
using otel::OtelConfig;
using otel::RequestTrace;

std::atomic<std::uint64_t>& g_sent = counter("opentelemetry_spans_sent");
std::atomic<std::uint64_t>& g_dropped = counter("opentelemetry_spans_dropped");
std::atomic<std::uint64_t>& g_failures = counter("opentelemetry_export_failures");

// OTLP/HTTP protobuf, as Kong sends; OTLP/JSON when the entry's headers set that Content-Type.
obs::otlp::Encoding encoding_of(const OtelConfig& c) {
  for (const auto& [name, value] : c.headers) {
    if (http::iequals(name, "content-type")) {
      return value.starts_with("application/json") ? obs::otlp::Encoding::json : obs::otlp::Encoding::protobuf;
    }
  }
  return obs::otlp::Encoding::protobuf;
}

obs::otlp::Resource resource_of(const OtelConfig& c) {
  obs::otlp::Resource r;
  r.scope_name = "kong-internal";  // Kong's instrumentation scope, so Kong's queries find the spans
  r.scope_version = "0.1.0";
  std::vector<std::pair<std::string, std::string>> attributes = {
      {"service.name", "portico"}, {"service.instance.id", process_node_id()}, {"service.version", PORTICO_VERSION}};
  for (const auto& [key, value] : c.resource_attributes) {
    auto same = std::find_if(attributes.begin(), attributes.end(), [&](const auto& a) { return a.first == key; });
    if (same != attributes.end()) same->second = value;
    else attributes.emplace_back(key, value);
  }
  for (auto& [key, value] : attributes) r.attributes.push_back({key, value});
  return r;
}

obs::BatchSenderOptions exporter_options(const OtelConfig& c) {
  obs::BatchSenderOptions o;
  o.name = "opentelemetry";
  o.endpoint = c.traces_endpoint;
  auto encoding = encoding_of(c);
  bool has_content_type = false;
  for (const auto& [name, value] : c.headers) {
    o.header_lines += name + ": " + value + "\r\n";
    has_content_type = has_content_type || http::iequals(name, "content-type");
  }
  if (!has_content_type) o.header_lines += "Content-Type: application/x-protobuf\r\n";
  // One deadline for the whole export: Kong's connect, send and read timeouts together.
  o.timeout_ms = c.connect_timeout + c.send_timeout + c.read_timeout;
  apply_queue(c.queue, o);
  o.payload = [resource = resource_of(c), encoding](std::vector<std::string>& spans) {
    return obs::otlp::encode_request(resource, spans, encoding);
  };
  o.accepted = [](int status) { return status == 200; };  // Kong's exporter: 200 only
  o.sent = &g_sent, o.dropped = &g_dropped, o.failures = &g_failures;
  return o;
}

// Whether a request carries any header of the formats tried: most carry none, and a pass
// over the names by length first is cheaper than each format looking for its own.
class TraceHeaderFilter {
 public:
  explicit TraceHeaderFilter(const std::vector<tracing::Format>& formats) {
    auto add = [&](tracing::Format f) {
      for (std::string_view name : tracing::header_names(f)) {
        names_.emplace_back(name);
        if (name.size() < by_length_.size()) by_length_[name.size()] = true;
      }
    };
    for (auto f : formats) {
      add(f);
      if (f == tracing::Format::b3) add(tracing::Format::b3_single);  // Kong's b3 reads both
    }
  }
  bool any(const http::RequestHead& request) const {
    for (const auto& field : request.headers) {
      if (field.name.size() >= by_length_.size() || !by_length_[field.name.size()]) continue;
      for (const auto& name : names_) {
        if (http::iequals(field.name, name)) return true;
      }
    }
    return false;
  }

 private:
  std::array<bool, 32> by_length_{};
  std::vector<std::string> names_;
};

class OpenTelemetry final : public Instance, public CallTracer {
 public:
  OpenTelemetry(const OtelConfig& c, BuildContext& build)
      : config_(c),
        propagation_(otel::resolve_propagation(c)),
        filter_(propagation_.extract),
        w3c_only_(injects_w3c_only(propagation_)),
        encoding_(encoding_of(c)),
        rate_(c.sampling_rate >= 0 ? c.sampling_rate : otel::kDefaultSamplingRate),
        declarative_(build.config) {
    // Kong keys a queue by the plugin and its configuration: an unchanged entry keeps its
    // queue (and the spans in it) across reloads.
    exporter_ = build.shared.plugin_state<obs::BatchSender>(
        "opentelemetry|" + build.key + "|" + boost::json::serialize(otel::config_schema().write(c)),
        [&] { return obs::BatchSender::start(build.control, exporter_options(c)); });
  }

  Access access(RequestContext& ctx) const override {
    RequestTrace& trace = begin(ctx);
    inject(ctx, trace);
    if (!config_.http_response_header_for_traceid.empty()) {
      ctx.add_response_header(config_.http_response_header_for_traceid, ctx.store(tracing::to_hex(trace.trace_id)));
    }
    ctx.set_call_tracer(this);
    return Access::next;
  }

  void log(RequestContext& ctx) const noexcept override {
    try {
      // A request answered before this plugin's access phase (an auth plugin's 401) is
      // traced too, in the caller's trace.
      RequestTrace& trace = begin(ctx);
      if (!trace.sampled) return;
      for (const auto& span : otel::request_spans(trace, ctx, http_route(ctx))) {
        exporter_->push(obs::otlp::encode_span(span, encoding_));
      }
    } catch (...) {
      // Out of memory while encoding: the spans are lost, the request is not.
    }
  }

  std::string_view call_started(RequestContext& ctx, std::size_t& call) const override {
    RequestTrace& trace = begin(ctx);
    auto* span = new (ctx.arena()->allocate(sizeof(otel::CallSpan), alignof(otel::CallSpan))) otel::CallSpan{};
    span->id = otel::random_span_id();
    span->start = std::chrono::steady_clock::now();
    span->next = trace.calls;
    trace.calls = span;
    call = reinterpret_cast<std::uintptr_t>(span);
    // The callee continues the trace under the call's span.
    std::string lines;
    for (const auto& [name, value] : context_headers(trace, span->id, trace.root_id)) {
      lines.append(name).append(": ").append(value).append("\r\n");
    }
    return ctx.store(lines);
  }

  void call_finished(RequestContext& ctx, std::size_t call, const Call& what) const override {
    auto* span = reinterpret_cast<otel::CallSpan*>(call);
    span->method = ctx.store(what.method);
    span->url = ctx.store(what.url);
    span->error = ctx.store(what.error);
    span->status = what.status;
    span->start = what.start;
    span->end = what.end;
    span->finished = true;
  }

 private:
  // The request's trace, started on first use: the caller's context or a new trace.
  RequestTrace& begin(RequestContext& ctx) const {
    RequestTrace& trace = ctx.state<RequestTrace>(*this);
    if (trace.begun) return trace;
    trace.begun = true;
    std::optional<bool> caller_sampled;
    if (!propagation_.extract.empty() && filter_.any(ctx.request())) {
      if (auto found = tracing::extract(ctx.request(), propagation_.extract)) {
        trace.context_came_in = true;
        trace.came_in = found->format;
        const auto& c = found->context;
        if (c.has_trace_id()) trace.trace_id = c.trace_id;
        // Kong: the root's parent is the caller's span id, else the parent id it sent.
        if (c.has_span_id) trace.parent_id = c.span_id, trace.has_parent = true;
        else if (c.has_parent_id) trace.parent_id = c.parent_id, trace.has_parent = true;
        caller_sampled = c.sampled;
      }
    }
    if (trace.trace_id == tracing::TraceId{}) trace.trace_id = otel::random_trace_id();
    trace.root_id = otel::random_span_id();
    trace.upstream_id = otel::random_span_id();
    trace.sampled = caller_sampled != false && otel::sampled_by_ratio(trace.trace_id, rate_);
    return trace;
  }

  // The header fields that carry the trace to a callee whose work belongs under `span`.
  // Kong's inject list: "preserve" is the format the caller's context came in (else
  // default_format); each format is written once.
  std::vector<std::pair<std::string, std::string>> context_headers(const RequestTrace& trace, const tracing::SpanId& span,
                                                                   const tracing::SpanId& parent) const {
    tracing::TraceContext c;
    c.trace_id = trace.trace_id;
    c.trace_id_size = 16;
    c.span_id = span;
    c.has_span_id = true;
    c.parent_id = parent;
    c.has_parent_id = true;
    c.sampled = trace.sampled;
    std::vector<std::pair<std::string, std::string>> out;
    std::array<bool, 16> written{};
    auto add = [&](tracing::Format f) {
      if (std::exchange(written[static_cast<std::size_t>(f)], true)) return;
      for (auto& h : tracing::inject(f, c)) out.push_back(std::move(h));
    };
    if (propagation_.inject_preserve) add(trace.context_came_in ? trace.came_in : propagation_.default_format);
    for (auto f : propagation_.inject) add(f);
    return out;
  }

  void inject(RequestContext& ctx, const RequestTrace& trace) const {
    for (const auto& name : propagation_.clear) ctx.upstream_headers().remove(name);
    if (w3c_only_ && (!propagation_.inject_preserve || !trace.context_came_in || trace.came_in == tracing::Format::w3c)) {
      // The common case (a W3C context or none, W3C out), written straight into the arena:
      // every request pays it, sampled or not.
      auto* line = static_cast<char*>(ctx.arena()->allocate(tracing::kTraceparentSize, 1));
      tracing::write_traceparent(line, trace.trace_id, trace.upstream_id, trace.sampled);
      ctx.upstream_headers().set("traceparent", {line, tracing::kTraceparentSize});
      return;
    }
    for (const auto& [name, value] : context_headers(trace, trace.upstream_id, trace.root_id)) {
      ctx.upstream_headers().set(ctx.store(name), ctx.store(value));
    }
  }

  // Whether every request's injection is W3C alone (unless a context came in another format).
  static bool injects_w3c_only(const otel::Propagation& p) {
    for (auto f : p.inject) {
      if (f != tracing::Format::w3c) return false;
    }
    return p.inject_preserve ? p.default_format == tracing::Format::w3c : !p.inject.empty();
  }

  std::string_view http_route(const RequestContext& ctx) const {
    const router::CompiledRoute* route = ctx.route();
    if (route == nullptr || route->route_index >= declarative_.routes.size()) return {};
    const auto& paths = declarative_.routes[route->route_index].paths;
    return paths.empty() ? std::string_view{} : std::string_view(paths.front());
  }

  const OtelConfig& config_;
  const otel::Propagation propagation_;
  const TraceHeaderFilter filter_;
  const bool w3c_only_;
  const obs::otlp::Encoding encoding_;
  const double rate_;
  const config::DeclarativeConfig& declarative_;
  std::shared_ptr<obs::BatchSender> exporter_;
};

}  // namespace

const Schema& opentelemetry_schema() {
  static const Schema schema{
      .name = "opentelemetry",
      .priority = 14,  // Kong's
      .phases = kAccess | kLog,
      .scopes = kGlobal | kService | kRoute | kConsumer,
      .config = &plugins::opentelemetry::config_schema(),
      .check = nullptr,
      .instantiate = instantiate_as<OpenTelemetry, OtelConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
