#include "plugins/opentelemetry/request_trace.hpp"

#include <cstring>

#include "core/uuid.hpp"

namespace portico::plugins::opentelemetry {

bool sampled_by_ratio(const obs::tracing::TraceId& trace_id, double rate) {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  std::uint64_t low = 0;
  for (int i = 7; i >= 0; --i) low = (low << 8) | trace_id[static_cast<std::size_t>(i)];  // little-endian
  return static_cast<double>(low) < rate * 18446744073709551616.0;  // rate·2^64
}

obs::tracing::SpanId random_span_id() {
  obs::tracing::SpanId id;
  std::uint64_t r = 0;
  while (r == 0) r = fast_random64();  // an all-zero id is invalid
  std::memcpy(id.data(), &r, sizeof r);
  return id;
}

obs::tracing::TraceId random_trace_id() {
  obs::tracing::TraceId id;
  std::uint64_t r[2] = {fast_random64(), fast_random64() | 1};  // never all zeros
  std::memcpy(id.data(), r, sizeof r);
  return id;
}

}  // namespace portico::plugins::opentelemetry
