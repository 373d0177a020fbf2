// A request body sent to a gRPC service while its answer is relayed.
//
// HTTP/1.1 exchanges send the whole request before reading the response; a bidirectional
// gRPC stream cannot (the client may wait for an answer before it sends more). When the
// client is an HTTP/2 stream and the service is reached over HTTP/2, the attempt writes the
// request head, hands the rest of the body to a ConcurrentBody and goes on to read the
// response: the body pump (proxy/body_pump.hpp) runs as a coroutine of its own, with its own
// deadlines and its own buffer (the body bytes already read are moved into it).
//
// Everything the coroutine touches is its own or shared with it (the upstream H2ClientStream),
// except the client's H2Stream, which it reads through a gate: once cancelled, the gate fails
// every read without touching the stream. The exchange ends with finish() (the normal path:
// the pump is cancelled if still running and awaited) or by destroying the handle (an
// exception: cancelled, not awaited), so the pump never outlives what it reads.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>

#include "core/byte_buffer.hpp"
#include "proxy/body_pump.hpp"

namespace portico {
class DeadlineQueue;
}

namespace portico::proxy {

class H2ClientStream;

class ConcurrentBody {
 public:
  // Starts sending the client's request body: `client` is the client's stream with the body
  // bytes already read (taken from `already_read`), `spec` its framing and limit (no prefix).
  // `keep_max` > 0: a copy of the body up to that size is kept (kept_body()).
  static std::unique_ptr<ConcurrentBody> start(DeadlineQueue& deadlines, BufferPool& buffers, StreamTransport& client,
                                               ByteBuffer& already_read, std::chrono::milliseconds client_timeout,
                                               std::shared_ptr<H2ClientStream> upstream,
                                               std::chrono::milliseconds upstream_timeout, PumpSpec spec,
                                               std::size_t keep_max = 0);
  ~ConcurrentBody();
  ConcurrentBody(const ConcurrentBody&) = delete;
  ConcurrentBody& operator=(const ConcurrentBody&) = delete;

  // Stops the pump if it still runs (the answer is complete, or failed) and waits for it.
  // The result: body bytes sent, and how it ended.
  boost::asio::awaitable<PumpResult> finish();
  // Waits for the pump to end by itself (the client has sent everything).
  boost::asio::awaitable<void> settle();
  // With `keep_max` given: the whole body, when the pump ended well and it fit; else null.
  std::string* kept_body();

  struct State;

 private:
  explicit ConcurrentBody(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace portico::proxy
