// libFuzzer target: trace context extraction from hostile header values in every format, and a
// round trip: what the gateway injects in a format reads back (in that format) as the same
// trace, span and sampling decision. Built by tests/fuzz/run.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/h1_parser.hpp"
#include "obs/trace_context.hpp"

using namespace portico;
using namespace portico::obs::tracing;

namespace {
constexpr Format kAll[] = {Format::w3c, Format::b3, Format::jaeger, Format::ot, Format::datadog, Format::aws, Format::gcp};

void check_round_trip(const TraceContext& original) {
  TraceContext ours = original;
  ours.span_id = {1, 2, 3, 4, 5, 6, 7, 8};  // the gateway's span
  if (!ours.has_trace_id()) return;
  for (Format f : {Format::w3c, Format::b3, Format::b3_single, Format::jaeger, Format::aws, Format::gcp}) {
    std::string raw = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (const auto& [name, value] : inject(f, ours)) raw += name + ": " + value + "\r\n";
    raw += "\r\n";
    http::RequestHead head;
    if (http::parse_request_head(raw, http::ParserLimits{}, head).state != http::ParseState::complete) __builtin_trap();
    Format only[] = {f};
    auto back = extract(head, only);
    if (!back) __builtin_trap();  // what we write, we read
    // The low 8 bytes of the trace survive every format; the span is ours.
    for (int i = 8; i < 16; ++i) {
      if (back->context.trace_id[i] != ours.trace_id[i]) __builtin_trap();
    }
    if (back->context.span_id != ours.span_id) __builtin_trap();
    // b3's debug flag implies sampled; the other formats carry the sampled bit alone.
    bool expected = ours.sampled.value_or(false) || (ours.debug && (f == Format::b3 || f == Format::b3_single));
    if (back->context.sampled.value_or(false) != expected) __builtin_trap();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string raw = "GET / HTTP/1.1\r\nHost: h\r\n";
  raw.append(reinterpret_cast<const char*>(data), size);
  raw += "\r\n\r\n";
  http::RequestHead head;
  if (http::parse_request_head(raw, http::ParserLimits{}, head).state != http::ParseState::complete) return 0;
  for (Format f : kAll) {
    Format only[] = {f};
    if (auto got = extract(head, only)) check_round_trip(got->context);
  }
  return 0;
}
