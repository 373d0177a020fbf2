// One HTTP/2 stream as the request lifecycle's transport.
//
// The lifecycle (DownstreamConnection in stream mode) reads and writes HTTP/1.1 bytes through
// a Side whose `stream` is this object (proxy/io.hpp), exactly as it would through a socket:
// - it reads the request: the head made from the HEADERS (http/h2_messages.hpp), then the
//   DATA, framed as chunks when the request had no content-length (framing made as it is read,
//   so buffered bytes never exceed what the client's flow-control window let it send);
// - it writes the response: the head becomes HEADERS (interim 1xx heads too), the body (with
//   its chunked coding undone) becomes DATA, handed to nghttp2 by the connection's data
//   source (take()).
// Flow control both ways: bytes read are given back to the client's window (the session
// runs without automatic WINDOW_UPDATE), and a write waits while more than kHighWater bytes
// are still queued for the client, so a slow reader slows the upstream, not memory.
//
// A client's RST_STREAM, or the connection ending, wakes any wait and makes every later
// read or write fail with connection_reset: the lifecycle ends as it would on a lost socket.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <span>
#include <string>

#include "http/chunked.hpp"
#include "http/h2_messages.hpp"
#include "proxy/h2_outgoing_body.hpp"
#include "proxy/stream_transport.hpp"

namespace portico::proxy {

class H2Server;

class H2Stream final : public StreamTransport {
 public:
  // Queued response bytes above which the lifecycle's writes wait for the client.
  static constexpr std::size_t kHighWater = H2OutgoingBody::kHighWater;

  H2Stream(H2Server& server, std::int32_t id, std::size_t max_head_bytes, const boost::asio::any_io_executor& executor);
  H2Stream(const H2Stream&) = delete;
  H2Stream& operator=(const H2Stream&) = delete;

  std::int32_t id() const { return id_; }
  // Ready to serve stream `id` as if new, keeping its buffers and timers (H2Server recycles
  // streams whose lifecycle and nghttp2 stream are both over: a stream per request costs
  // no allocation once a connection is warm).
  void reuse(std::int32_t id);
  // Frees the buffers that grew beyond a small request's needs (a kept stream stays small).
  void release_large_buffers();

  // --- The connection's side (from nghttp2's callbacks) ---
  http::H2RequestHead& request_fields() { return fields_; }
  // The HEADERS are complete: the request head is ready to be read. `end_stream`: no body.
  void headers_done(bool end_stream);
  void receive_data(const std::uint8_t* data, std::size_t size);
  void request_ended();  // END_STREAM from the client
  bool request_complete() const { return request_ended_; }
  // nghttp2 closed the stream (RST_STREAM either way, or both sides done).
  void closed();
  bool is_closed() const { return closed_; }
  // The connection is gone: every wait wakes and fails.
  void abort();
  // nghttp2's data source: response body bytes into `out`; sets eof in `*flags` when the body
  // is all given. NGHTTP2_ERR_DEFERRED when nothing is queued yet.
  long take(std::uint8_t* out, std::size_t size, std::uint32_t* flags);

  // Why the request is answered without being read (a field list too large: 431; a Host
  // that contradicts :authority: 400), 0 when it is not.
  int refusal_status() const;
  std::string_view refusal_message() const;

  // --- The lifecycle's side (proxy/io.cpp) ---
  // Request bytes into `data`: would_block when none yet, eof after the last.
  std::size_t read(char* data, std::size_t size, error_code& ec) override;
  // Takes response bytes after the first `skip` of `buffers`; would_block when too many are
  // queued. Returns how many were taken.
  std::size_t write(Buffers buffers, std::size_t skip, error_code& ec) override;
  // Suspends until read() or write() may make progress (or the deadline, or a reset).
  boost::asio::awaitable<void> wait_readable() override;
  boost::asio::awaitable<void> wait_writable() override;
  // The Deadline hook (core/deadline.hpp): wakes both waits; the lifecycle sees expiry.
  static void wake(void* self);
  void interrupt() override { wake(this); }
  // The lifecycle is done: the response ends here (a body that ends with the connection, as
  // HTTP/1.1's until-close framing) or, when incomplete, the stream is reset.
  void finish();
  // Started (H2Server's starter ran) and not yet finished.
  void lifecycle_started() { lifecycle_started_ = true; }
  bool lifecycle_running() const { return lifecycle_started_ && !lifecycle_done_; }
  // Response body bytes wait for the client's flow-control window.
  bool has_queued_output() const { return queued() > 0; }

  // --- A WebSocket tunnel (RFC 8441; proxy/upgrade_tunnel.cpp) ---
  // The request was an extended CONNECT for a WebSocket: its head reads as the HTTP/1.1
  // handshake, a 101 written to the stream becomes the 200 that opens the tunnel, and reads
  // and writes after it are the tunnel's bytes (DATA both ways).
  bool websocket() const { return websocket_; }
  bool tunnel_open() const { return tunnel_open_; }  // the 200 was sent
  // The service ended its side: END_STREAM after the bytes queued (the client may still send).
  void end_tunnel_output();
  // The tunnel is over: the stream is reset (CANCEL) unless both sides already ended it, and
  // every wait wakes.
  void end_tunnel();

 private:
  enum class Out { head, body, done };
  // The response bytes written, in order; false when they cannot be turned into a response.
  bool feed(std::string_view bytes);
  bool feed_head(std::string_view& bytes);
  bool open_tunnel();  // a 101 for a WebSocket: the tunnel's 200
  void feed_body(std::string_view bytes);
  std::size_t queued() const { return body_out_.queued(); }
  std::size_t read_body(char* data, std::size_t size);

  H2Server& server_;
  std::int32_t id_;
  http::H2RequestHead fields_;

  // Request: the head, then DATA (chunk framing made when read).
  std::string head_;
  std::size_t head_at_ = 0;
  std::string body_in_;
  std::size_t body_in_at_ = 0;
  bool chunked_in_ = false;
  std::string framing_;          // chunk framing not yet read
  std::uint64_t chunk_left_ = 0;  // data bytes of the current chunk not yet read
  bool last_chunk_made_ = false;
  bool request_ended_ = false;
  bool method_head_ = false;
  bool websocket_ = false;
  bool tunnel_open_ = false;

  // Response.
  Out out_ = Out::head;
  std::string head_out_;  // the head's bytes until complete
  http::ResponseHead response_head_;
  http::H2ResponseFields response_fields_;
  http::H2ResponseFields trailer_fields_;  // a chunked response's trailer section (gRPC's status)
  H2OutgoingBody body_out_;  // the response body for nghttp2 (trailers kept: gRPC's status)

  bool closed_ = false;
  bool reset_ = false;  // reads and writes fail
  bool lifecycle_started_ = false;
  bool lifecycle_done_ = false;
  boost::asio::steady_timer read_signal_;
  boost::asio::steady_timer write_signal_;
};

}  // namespace portico::proxy
