#include "obs/trace_context.hpp"

#include <algorithm>
#include <charconv>

#include "core/hex.hpp"
#include "crypto/digest.hpp"

namespace portico::obs::tracing {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool all_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return hex_value(c) >= 0; });
}

// Up to `N` bytes of hex (odd lengths allowed: a leading zero is implied), right-aligned in
// `out`; the received size in bytes goes to `size`.
template <std::size_t N>
bool read_hex_id(std::string_view hex, std::array<std::uint8_t, N>& out, std::size_t& size) {
  if (!all_hex(hex) || hex.size() > N * 2) return false;
  out.fill(0);
  std::size_t pos = N;
  for (std::size_t end = hex.size(); end > 0;) {
    std::size_t begin = end >= 2 ? end - 2 : 0;
    int value = 0;
    for (std::size_t i = begin; i < end; ++i) value = value * 16 + hex_value(hex[i]);
    out[--pos] = static_cast<std::uint8_t>(value);
    end = begin;
  }
  size = (hex.size() + 1) / 2;
  return true;
}

bool is_zero(std::span<const std::uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

bool read_trace_id(std::string_view hex, TraceContext& c) {
  std::size_t size = 0;
  if (!read_hex_id(hex, c.trace_id, size) || is_zero(c.trace_id)) return false;
  c.trace_id_size = size;
  return true;
}

bool read_span_id(std::string_view hex, SpanId& out) {
  std::size_t size = 0;
  return hex.size() == 16 && read_hex_id(hex, out, size) && !is_zero(out);
}

bool read_decimal(std::string_view text, std::uint64_t& out) {
  text = http::trim_ows(text);
  if (text.empty()) return false;
  auto r = std::from_chars(text.data(), text.data() + text.size(), out);
  return r.ec == std::errc{} && r.ptr == text.data() + text.size();
}

void put_u64(std::uint64_t v, std::uint8_t* out) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<std::uint8_t>(v & 0xFF);
}

std::uint64_t get_u64(const std::uint8_t* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

std::string decimal(std::uint64_t v) { return std::to_string(v); }

// The trace id as `format` writes it: the received size when the format allows it, else the
// format's first size (Kong's rule).
std::string trace_hex(const TraceContext& c, std::initializer_list<std::size_t> allowed) {
  std::size_t size = *allowed.begin();
  for (auto a : allowed) {
    if (a == c.trace_id_size) size = a;
  }
  return to_hex(std::span<const std::uint8_t>(c.trace_id).subspan(16 - size));
}

std::optional<bool> sampled_flag(std::string_view v) {
  if (v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  return std::nullopt;
}

// Baggage items: headers named `prefix`<key>.
void read_baggage(const http::RequestHead& r, std::string_view prefix, TraceContext& c) {
  for (const auto& h : r.headers) {
    if (h.name.size() > prefix.size() && http::iequals(h.name.substr(0, prefix.size()), prefix)) {
      c.baggage.emplace_back(http::ascii_lower(h.name.substr(prefix.size())), std::string(h.value));
    }
  }
}

// `v` as exactly four `separator`-separated parts (traceparent, uber-trace-id).
bool split_in_four(std::string_view v, char separator, std::array<std::string_view, 4>& parts) {
  for (std::size_t i = 0; i < 4; ++i) {
    std::size_t at = v.find(separator);
    if ((at == std::string_view::npos) != (i == 3)) return false;
    parts[i] = v.substr(0, at);
    v = at == std::string_view::npos ? std::string_view{} : v.substr(at + 1);
  }
  return true;
}

std::optional<TraceContext> extract_w3c(const http::RequestHead& r) {
  std::string_view v = http::trim_ows(r.find("traceparent"));
  std::array<std::string_view, 4> parts;
  if (v.empty() || !split_in_four(v, '-', parts)) return std::nullopt;
  TraceContext c;
  if (parts[0] != "00" || parts[1].size() != 32 || !read_trace_id(parts[1], c)) return std::nullopt;
  if (!read_span_id(parts[2], c.span_id) || parts[3].size() != 2 || !all_hex(parts[3])) return std::nullopt;
  c.has_span_id = true;
  c.sampled = (hex_value(parts[3][1]) & 1) != 0;
  return c;
}

// The single b3 header: <trace>-<span>[-<1|0|d>][-<parent>], or only the sampling state.
std::optional<TraceContext> read_b3_single(std::string_view v) {
  TraceContext c;
  if (v == "1" || v == "0" || v == "d") {
    c.sampled = v != "0";
    c.debug = v == "d";
    return c;
  }
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    std::size_t dash = v.find('-', start);
    parts.push_back(v.substr(start, dash == std::string_view::npos ? v.npos : dash - start));
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  if (parts.size() < 2 || parts.size() > 4) return std::nullopt;
  if ((parts[0].size() != 16 && parts[0].size() != 32) || !read_trace_id(parts[0], c)) return std::nullopt;
  if (!read_span_id(parts[1], c.span_id)) return std::nullopt;
  c.has_span_id = true;
  if (parts.size() >= 3) {
    std::string_view s = parts[2];
    if (s == "1" || s == "d") c.sampled = true;
    else if (s == "0") c.sampled = false;
    else return std::nullopt;
    c.debug = s == "d";
  }
  if (parts.size() == 4) {
    if (!read_span_id(parts[3], c.parent_id)) return std::nullopt;
    c.has_parent_id = true;
  }
  return c;
}

std::optional<TraceContext> extract_b3(const http::RequestHead& r, bool& single) {
  single = false;
  if (std::string_view v = http::trim_ows(r.find("b3")); !v.empty()) {
    single = true;
    return read_b3_single(v);
  }
  std::string_view trace = r.find("x-b3-traceid"), span = r.find("x-b3-spanid"), parent = r.find("x-b3-parentspanid"),
                   sampled = r.find("x-b3-sampled"), flags = r.find("x-b3-flags");
  if (trace.empty() && span.empty() && sampled.empty() && flags.empty()) return std::nullopt;
  TraceContext c;
  if (!trace.empty() && ((trace.size() != 16 && trace.size() != 32) || !read_trace_id(trace, c))) return std::nullopt;
  if (!span.empty()) {
    if (!read_span_id(span, c.span_id)) return std::nullopt;
    c.has_span_id = true;
  }
  if (!parent.empty()) {
    if (!read_span_id(parent, c.parent_id)) return std::nullopt;
    c.has_parent_id = true;
  }
  if (flags == "1") {
    c.debug = true;
    c.sampled = true;
  } else if (!sampled.empty()) {
    c.sampled = sampled_flag(sampled);
  }
  return c;
}

std::optional<TraceContext> extract_jaeger(const http::RequestHead& r) {
  std::string_view v = http::trim_ows(r.find("uber-trace-id"));
  std::array<std::string_view, 4> parts;
  if (v.empty() || !split_in_four(v, ':', parts)) return std::nullopt;
  TraceContext c;
  if (!read_trace_id(parts[0], c)) return std::nullopt;
  std::size_t size = 0;
  if (!read_hex_id(parts[1], c.span_id, size) || is_zero(c.span_id)) return std::nullopt;
  c.has_span_id = true;
  if (parts[2].size() == 16 && read_span_id(parts[2], c.parent_id)) c.has_parent_id = true;  // "0": none
  if (parts[3].empty() || parts[3].size() > 2 || !all_hex(parts[3])) return std::nullopt;
  int flags = hex_value(parts[3].back()) + (parts[3].size() == 2 ? 16 * hex_value(parts[3][0]) : 0);
  c.sampled = (flags & 1) != 0;
  c.debug = (flags & 2) != 0;
  read_baggage(r, "uberctx-", c);
  return c;
}

std::optional<TraceContext> extract_ot(const http::RequestHead& r) {
  std::string_view trace = r.find("ot-tracer-traceid"), span = r.find("ot-tracer-spanid"),
                   sampled = r.find("ot-tracer-sampled");
  if (trace.empty() && span.empty() && sampled.empty()) return std::nullopt;
  TraceContext c;
  if (!trace.empty() && ((trace.size() != 16 && trace.size() != 32) || !read_trace_id(trace, c))) return std::nullopt;
  if (!span.empty()) {
    if (!read_span_id(span, c.span_id)) return std::nullopt;
    c.has_span_id = true;
  }
  if (!sampled.empty()) c.sampled = sampled_flag(sampled);
  read_baggage(r, "ot-baggage-", c);
  return c;
}

std::optional<TraceContext> extract_datadog(const http::RequestHead& r) {
  std::string_view trace = r.find("x-datadog-trace-id"), parent = r.find("x-datadog-parent-id"),
                   priority = r.find("x-datadog-sampling-priority");
  if (trace.empty() && priority.empty()) return std::nullopt;  // a parent without a trace is ignored
  TraceContext c;
  std::uint64_t v = 0;
  if (!trace.empty()) {
    if (!read_decimal(trace, v) || v == 0) return std::nullopt;
    put_u64(v, c.trace_id.data() + 8);
    c.trace_id_size = 8;
    if (!parent.empty()) {
      if (!read_decimal(parent, v) || v == 0) return std::nullopt;
      put_u64(v, c.span_id.data());
      c.has_span_id = true;
    }
  }
  if (!priority.empty()) {
    std::int64_t p = 0;
    std::string_view t = http::trim_ows(priority);
    auto res = std::from_chars(t.data(), t.data() + t.size(), p);
    if (res.ec != std::errc{} || res.ptr != t.data() + t.size() || p < -1 || p > 2) return std::nullopt;
    c.sampled = p > 0;
  }
  return c;
}

std::optional<TraceContext> extract_aws(const http::RequestHead& r) {
  std::string_view v = r.find("x-amzn-trace-id");
  if (v.empty()) return std::nullopt;
  TraceContext c;
  bool root = false;
  while (!v.empty()) {
    std::size_t semi = v.find(';');
    std::string_view item = http::trim_ows(v.substr(0, semi));
    v = semi == std::string_view::npos ? std::string_view{} : v.substr(semi + 1);
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = http::trim_ows(item.substr(0, eq)), value = http::trim_ows(item.substr(eq + 1));
    if (key == "Root") {
      // 1-<8 hex epoch>-<24 hex random>
      if (value.size() != 35 || value.substr(0, 2) != "1-" || value[10] != '-') return std::nullopt;
      std::string hex = std::string(value.substr(2, 8)) + std::string(value.substr(11));
      if (!read_trace_id(hex, c)) return std::nullopt;
      root = true;
    } else if (key == "Parent") {
      if (!read_span_id(value, c.span_id)) return std::nullopt;
      c.has_span_id = true;
    } else if (key == "Sampled") {
      if (value != "0" && value != "1") return std::nullopt;
      c.sampled = value == "1";
    }
  }
  if (!root) return std::nullopt;
  return c;
}

std::optional<TraceContext> extract_gcp(const http::RequestHead& r) {
  std::string_view v = http::trim_ows(r.find("x-cloud-trace-context"));
  if (v.empty()) return std::nullopt;
  std::size_t slash = v.find('/');
  if (slash != 32) return std::nullopt;
  std::string_view trace = v.substr(0, 32), rest = v.substr(33);
  for (char ch : trace) {
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return std::nullopt;  // lower-case only
  }
  TraceContext c;
  if (!read_trace_id(trace, c)) return std::nullopt;
  std::size_t semi = rest.find(';');
  std::string_view span = rest.substr(0, semi);
  std::uint64_t id = 0;
  if (span.empty() || span.size() > 20 || !read_decimal(span, id)) return std::nullopt;
  if (id != 0) {
    put_u64(id, c.span_id.data());
    c.has_span_id = true;
  }
  if (semi != std::string_view::npos) {
    std::string_view option = rest.substr(semi + 1);
    if (option.size() != 3 || option.substr(0, 2) != "o=" || option[2] < '0' || option[2] > '9') return std::nullopt;
    c.sampled = option[2] == '1';
  }
  return c;
}

std::string_view sampled_text(const TraceContext& c) { return c.sampled.value_or(false) ? "1" : "0"; }

}  // namespace

std::string to_hex(std::span<const std::uint8_t> bytes) {
  return crypto::hex_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::optional<Format> format_named(std::string_view name) {
  for (auto f : {Format::w3c, Format::b3, Format::b3_single, Format::jaeger, Format::ot, Format::datadog, Format::aws,
                 Format::gcp}) {
    if (format_name(f) == name) return f;
  }
  return std::nullopt;
}

std::string_view format_name(Format format) {
  switch (format) {
    case Format::w3c: return "w3c";
    case Format::b3: return "b3";
    case Format::b3_single: return "b3-single";
    case Format::jaeger: return "jaeger";
    case Format::ot: return "ot";
    case Format::datadog: return "datadog";
    case Format::aws: return "aws";
    case Format::gcp: return "gcp";
  }
  return "";
}

std::optional<Extracted> extract(const http::RequestHead& request, std::span<const Format> order) {
  for (Format f : order) {
    std::optional<TraceContext> c;
    bool single = false;
    switch (f) {
      case Format::w3c: c = extract_w3c(request); break;
      case Format::b3:
      case Format::b3_single: c = extract_b3(request, single); break;
      case Format::jaeger: c = extract_jaeger(request); break;
      case Format::ot: c = extract_ot(request); break;
      case Format::datadog: c = extract_datadog(request); break;
      case Format::aws: c = extract_aws(request); break;
      case Format::gcp: c = extract_gcp(request); break;
    }
    if (c) return Extracted{std::move(*c), single ? Format::b3_single : (f == Format::b3_single ? Format::b3 : f)};
  }
  return std::nullopt;
}

void write_traceparent(char* out, const TraceId& trace_id, const SpanId& span_id, bool sampled) {
  char* p = out;
  *p++ = '0', *p++ = '0', *p++ = '-';
  p = write_hex(p, trace_id.data(), trace_id.size());
  *p++ = '-';
  p = write_hex(p, span_id.data(), span_id.size());
  *p++ = '-', *p++ = '0', *p++ = sampled ? '1' : '0';
}

std::vector<std::pair<std::string, std::string>> inject(Format format, const TraceContext& c) {
  std::vector<std::pair<std::string, std::string>> h;
  std::string span = to_hex(c.span_id);
  std::string parent = c.has_parent_id ? to_hex(c.parent_id) : std::string();
  switch (format) {
    case Format::w3c:
      {
        char line[kTraceparentSize];
        write_traceparent(line, c.trace_id, c.span_id, c.sampled.value_or(false));
        h.emplace_back("traceparent", std::string(line, sizeof line));
      }
      break;
    case Format::b3:
      if (c.has_trace_id()) {
        h.emplace_back("x-b3-traceid", trace_hex(c, {16, 8}));
        h.emplace_back("x-b3-spanid", span);
        if (c.has_parent_id) h.emplace_back("x-b3-parentspanid", parent);
      }
      if (c.debug) h.emplace_back("x-b3-flags", "1");
      else h.emplace_back("x-b3-sampled", std::string(sampled_text(c)));
      break;
    case Format::b3_single: {
      std::string state = c.debug ? "d" : std::string(sampled_text(c));
      if (!c.has_trace_id()) {
        h.emplace_back("b3", state);
        break;
      }
      std::string value = trace_hex(c, {16, 8}) + "-" + span + "-" + state;
      if (c.has_parent_id) value += "-" + parent;
      h.emplace_back("b3", value);
      break;
    }
    case Format::jaeger:
      h.emplace_back("uber-trace-id", trace_hex(c, {16, 8}) + ":" + span + ":" + (c.has_parent_id ? parent : "0") + ":" +
                                          (c.sampled.value_or(false) ? "01" : "00"));
      for (const auto& [k, v] : c.baggage) h.emplace_back("uberctx-" + k, v);
      break;
    case Format::ot:
      h.emplace_back("ot-tracer-traceid", trace_hex(c, {8, 16}));
      h.emplace_back("ot-tracer-spanid", span);
      h.emplace_back("ot-tracer-sampled", std::string(sampled_text(c)));
      for (const auto& [k, v] : c.baggage) h.emplace_back("ot-baggage-" + k, v);
      break;
    case Format::datadog:
      h.emplace_back("x-datadog-trace-id", decimal(get_u64(c.trace_id.data() + 8)));
      h.emplace_back("x-datadog-parent-id", decimal(get_u64(c.span_id.data())));
      h.emplace_back("x-datadog-sampling-priority", std::string(sampled_text(c)));
      break;
    case Format::aws: {
      std::string trace = trace_hex(c, {16});
      h.emplace_back("x-amzn-trace-id", "Root=1-" + trace.substr(0, 8) + "-" + trace.substr(8) + ";Parent=" + span +
                                            ";Sampled=" + std::string(sampled_text(c)));
      break;
    }
    case Format::gcp:
      h.emplace_back("x-cloud-trace-context", trace_hex(c, {16}) + "/" + decimal(get_u64(c.span_id.data())) +
                                                  ";o=" + std::string(sampled_text(c)));
      break;
  }
  return h;
}

std::vector<std::string_view> header_names(Format format) {
  switch (format) {
    case Format::w3c: return {"traceparent"};
    case Format::b3: return {"x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags"};
    case Format::b3_single: return {"b3"};
    case Format::jaeger: return {"uber-trace-id"};
    case Format::ot: return {"ot-tracer-traceid", "ot-tracer-spanid", "ot-tracer-sampled"};
    case Format::datadog: return {"x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority"};
    case Format::aws: return {"x-amzn-trace-id"};
    case Format::gcp: return {"x-cloud-trace-context"};
  }
  return {};
}

}  // namespace portico::obs::tracing
