// Streams one message body from a source side to a sink side without holding it whole.
//
// The body is taken from whatever is already in the source buffer first, then read in
// buffer-sized pieces. Chunked input is decoded strictly and, when the sink needs
// chunked output, re-encoded with Portico's own chunk lines: client bytes are never
// copied through as framing. A prefix (the message head) is sent gathered with the
// first body bytes, so a small message costs one write.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "http/chunked.hpp"
#include "http/body_transform.hpp"
#include "http/header_view.hpp"
#include "proxy/io.hpp"

namespace portico::proxy {

enum class PumpFailure {
  none,
  source_closed,     // the source closed before the body was complete
  source_timeout,
  source_error,      // reset or other read error
  source_malformed,  // bad chunked framing
  sink_failed,
  sink_timeout,
  too_large,         // max_body exceeded
};

struct PumpResult {
  PumpFailure failure = PumpFailure::none;
  std::uint64_t body_bytes = 0;      // body bytes read from the source (decoded from chunks)
  std::uint64_t body_bytes_out = 0;  // body bytes given to the sink: the transformed ones with a transform
  bool wrote_anything = false;  // at least the prefix reached the sink
  bool tee_overflowed = false;  // the body was larger than spec.tee_max: *spec.tee is empty
  bool ok() const { return failure == PumpFailure::none; }
};

struct PumpSpec {
  http::BodyFraming framing = http::BodyFraming::none;
  std::uint64_t content_length = 0;
  bool chunk_output = false;    // re-encode as chunked for the sink
  // Chunked input to chunked output: the trailer section goes on too (a gRPC exchange's
  // grpc-status); otherwise trailers are dropped, as nginx's proxy does.
  bool forward_trailers = false;
  std::string_view prefix;      // bytes to send before the body
  std::uint64_t max_body = 0;   // 0: unlimited
  // Chunked input: the decoder to go on with (a body collect_body() read part of), else a fresh one.
  http::ChunkedDecoder* decoder = nullptr;
  // Optional: the body is rewritten on the way (compressed, transcoded); what the transform gives
  // back goes out instead, one chunk per read when chunk_output. It gets the trailer section of
  // a chunked body (which then goes on only with forward_trailers). The fast path does not apply.
  http::BodyTransform* transform = nullptr;
  // Optional: the (decoded) body bytes are also appended here, up to tee_max bytes; when the
  // body is complete and was not larger, tee_complete() runs before its last bytes are sent.
  std::string* tee = nullptr;
  std::size_t tee_max = 0;
  std::function<void()> tee_complete;
};

awaitable<PumpResult> pump_body(Side& source, Side& sink, PumpSpec spec);

// The common case without a coroutine: the body is absent or already complete in the
// source buffer and needs no re-encoding, so prefix and body go out in one direct writev.
enum class FastSend {
  done,            // everything was written (or the sink failed: see result)
  partial,         // the kernel took `written` bytes; co_await send_body_rest()
  not_applicable,  // co_await send_body_rest() (it runs pump_body)
};
FastSend send_buffered_now(Side& source, Side& sink, const PumpSpec& spec, std::size_t& written, PumpResult& result);

// The slow path after send_buffered_now() answered `partial` (finish the write) or
// `not_applicable` (pump_body). Usage:
//   if (auto fast = send_buffered_now(src, dst, spec, written, r); fast != FastSend::done)
//     r = co_await send_body_rest(src, dst, spec, fast, written);
awaitable<PumpResult> send_body_rest(Side& source, Side& sink, PumpSpec spec, FastSend fast, std::size_t written);

}  // namespace portico::proxy

namespace portico::proxy {

// Reads a whole body from `source` into `out` (decoded when chunked), for plugins that
// need the complete body (the response_body phase). Fails with too_large beyond
// spec.max_body (required, non-zero). spec.prefix and spec.chunk_output are ignored.
awaitable<PumpResult> collect_body(Side& source, PumpSpec spec, std::string& out);

}  // namespace portico::proxy
