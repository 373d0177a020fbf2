#include "plugins/opentelemetry/spans.hpp"

#include "plugin/request_context.hpp"

namespace portico::plugins::opentelemetry {
namespace {

using obs::otlp::Attribute;
using obs::otlp::Span;
using obs::otlp::SpanKind;
using obs::otlp::StatusCode;
using Clock = std::chrono::steady_clock;

// Steady-clock instants as Unix nanoseconds, by one reading of both clocks.
class WallClock {
 public:
  WallClock()
      : steady_now_(Clock::now()),
        unix_now_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count()) {}
  std::uint64_t unix_ns(Clock::time_point t) const {
    return static_cast<std::uint64_t>(unix_now_ns_ + std::chrono::duration_cast<std::chrono::nanoseconds>(t - steady_now_).count());
  }
  Clock::time_point now() const { return steady_now_; }

 private:
  Clock::time_point steady_now_;
  std::int64_t unix_now_ns_;
};

Clock::time_point after(Clock::time_point start, double seconds) {
  return start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// "ip:port" or "[v6]:port" into Kong's net.peer.ip and net.peer.port.
void add_peer(std::vector<Attribute>& attributes, std::string_view address) {
  std::string_view ip;
  int port = 0;
  http::split_authority(address, ip, port);
  if (ip.size() >= 2 && ip.front() == '[') ip = ip.substr(1, ip.size() - 2);
  attributes.push_back({"net.peer.ip", std::string(ip)});
  if (port != 0) attributes.push_back({"net.peer.port", static_cast<double>(port)});  // a Lua number: Kong sends a double
}

Span child_of(const RequestTrace& trace, std::string name, SpanKind kind) {
  Span s;
  s.trace_id = trace.trace_id;
  s.parent_span_id = trace.root_id;
  s.has_parent = true;
  s.name = std::move(name);
  s.kind = kind;
  return s;
}

Span root_span(const RequestTrace& trace, const plugin::RequestContext& ctx, std::string_view http_route,
               const WallClock& clock) {
  const auto& request = ctx.request();
  Span s;
  s.trace_id = trace.trace_id;
  s.span_id = trace.root_id;
  s.parent_span_id = trace.parent_id;
  s.has_parent = trace.has_parent;
  s.name = "kong";
  s.kind = SpanKind::server;
  s.start_unix_nano = clock.unix_ns(ctx.served.started);
  s.end_unix_nano = clock.unix_ns(clock.now());
  std::string host(http::host_without_port(request.host));
  // Kong's attributes of its root span: http.url is scheme://host (no port) and the target.
  s.attributes = {
      {"http.method", std::string(request.method)},
      {"http.url", std::string(ctx.scheme()) + "://" + host + std::string(request.target)},
      {"http.host", host},
      {"http.scheme", std::string(ctx.scheme())},
      {"http.flavor", std::string(request.version_minor == 0 ? "1.0" : "1.1")},
      {"http.client_ip", std::string(ctx.client_ip())},
      {"net.peer.ip", std::string(ctx.client_ip())},
      {"kong.request.id", std::string(ctx.request_id())},
      {"http.status_code", std::int64_t{ctx.status}},
      {"http.route", std::string(http_route)},
  };
  return s;
}

// From the request's first byte to the first upstream try (or, answered by the gateway, to
// the answer).
Span access_span(const RequestTrace& trace, const plugin::RequestContext& ctx, const WallClock& clock) {
  const auto& served = ctx.served;
  Span s = child_of(trace, "kong.access", SpanKind::internal);
  s.span_id = random_span_id();
  s.start_unix_nano = clock.unix_ns(served.started);
  Clock::time_point end = after(served.started, served.gateway_ms / 1000);
  if (!served.earlier_tries.empty()) end = served.earlier_tries.front().start;
  else if (!served.last_try.address.empty()) end = served.last_try.start;
  s.end_unix_nano = clock.unix_ns(end);
  return s;
}

Span try_span(const RequestTrace& trace, const obs::UpstreamTry& attempt, std::size_t number, bool failed,
              const WallClock& clock) {
  Span s = child_of(trace, "kong.balancer", SpanKind::client);
  s.start_unix_nano = clock.unix_ns(attempt.start);
  s.end_unix_nano = clock.unix_ns(attempt.response_time >= 0 ? after(attempt.start, attempt.response_time) : clock.now());
  s.attributes.push_back({"try_count", static_cast<double>(number)});
  add_peer(s.attributes, attempt.address);
  if (failed) {
    if (attempt.status != 0) s.attributes.push_back({"http.status_code", std::int64_t{attempt.status}});
    s.status = StatusCode::error;
  }
  return s;
}

Span call_span(const RequestTrace& trace, const CallSpan& call, const WallClock& clock) {
  Span s = child_of(trace, "kong.internal.request", SpanKind::client);
  s.span_id = call.id;
  s.start_unix_nano = clock.unix_ns(call.start);
  s.end_unix_nano = clock.unix_ns(call.finished ? call.end : clock.now());
  s.attributes = {{"http.url", std::string(call.url)},
                  {"http.method", std::string(call.method)},
                  {"http.flavor", std::string("1.1")}};
  if (call.status != 0) {
    s.attributes.push_back({"http.status_code", std::int64_t{call.status}});
  } else {
    s.status = StatusCode::error;
    s.status_message = call.finished ? std::string(call.error) : "cancelled";
  }
  return s;
}

}  // namespace

std::vector<Span> request_spans(const RequestTrace& trace, const plugin::RequestContext& ctx, std::string_view http_route) {
  WallClock clock;
  std::vector<Span> spans;
  spans.push_back(root_span(trace, ctx, http_route, clock));
  spans.push_back(access_span(trace, ctx, clock));
  const auto& served = ctx.served;
  // Every try before the last was given up on (a failure, or a status the service retries on).
  std::size_t number = 0;
  for (const auto& attempt : served.earlier_tries) {
    spans.push_back(try_span(trace, attempt, ++number, true, clock));
    spans.back().span_id = random_span_id();
  }
  if (!served.last_try.address.empty()) {
    // The last try carried the injected context: its span is the service's parent. It failed
    // when no connection was made, or when retries ran out on an error status.
    const auto& last = served.last_try;
    bool failed = last.connect_time < 0 || last.header_time < 0 || (number > 0 && last.status >= 500);
    spans.push_back(try_span(trace, last, ++number, failed, clock));
    spans.back().span_id = trace.upstream_id;
  }
  std::size_t first_call = spans.size();
  for (const CallSpan* call = trace.calls; call != nullptr; call = call->next) spans.push_back(call_span(trace, *call, clock));
  std::reverse(spans.begin() + static_cast<std::ptrdiff_t>(first_call), spans.end());  // in the order they started
  // The caller's W3C tracestate belongs to the trace: every span carries it (as SDKs do); the
  // header itself goes on to the service untouched.
  if (trace.context_came_in && trace.came_in == obs::tracing::Format::w3c) {
    if (auto state = ctx.request().find("tracestate"); !state.empty()) {
      for (auto& span : spans) span.trace_state = std::string(state);
    }
  }
  return spans;
}

}  // namespace portico::plugins::opentelemetry
