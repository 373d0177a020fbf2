// The server side of one HTTP/2 connection (nghttp2): frames in and out, one H2Stream per
// request, each served by its own request lifecycle (proxy/h2_stream.hpp).
//
// Three coroutines share the connection: the reader feeds the socket's bytes to nghttp2
// (whose callbacks create streams, deliver DATA and start lifecycles), the writer sends
// whatever nghttp2 has queued whenever it is woken (kick()), and an idle watcher closes a
// connection without streams after the keep-alive timeout. TLS or not, they go through the
// same Side reads and writes as HTTP/1.1 (proxy/io.hpp).
//
// Defences (docs/architecture.md "HTTP/2"), each ending the connection with GOAWAY:
// - rapid reset (CVE-2023-44487): nghttp2's reset rate limit, and lifecycles still running
//   after their stream was reset count against the concurrency limit (new streams beyond
//   it are refused with REFUSED_STREAM), so cancelled work cannot pile up;
// - CONTINUATION flood: nghttp2's limit on CONTINUATION frames, and the decoded size of one
//   header block is capped (kHeaderBlockCap) -> ENHANCE_YOUR_CALM;
// - HPACK bomb: the same cap on decoded bytes, whatever the compressed size;
// - SETTINGS, PING, PRIORITY, RST_STREAM and empty-frame floods: a budget of such frames
//   (kControlBurst, refilled kControlRate per second) -> ENHANCE_YOUR_CALM;
// - zero-window stall: response data waiting while no DATA frame could go out for the write
//   timeout (the client keeps its flow-control windows closed) -> GOAWAY ENHANCE_YOUR_CALM;
//   one stream held while others flow is only reset, by its lifecycle's write timeout;
// - oversized headers: the stream is answered 431 (as HTTP/1.1), the connection goes on.
#pragma once

#include <nghttp2/nghttp2.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/deadline.hpp"
#include "http/h2_messages.hpp"
#include "obs/stats.hpp"
#include "proxy/io.hpp"
#include "proxy/options.hpp"

namespace portico::proxy {

class H2Stream;

class H2Server {
 public:
  // Starts the request lifecycle of a stream whose headers are complete (posted, never run
  // inside nghttp2's callbacks); it calls H2Stream::finish() when done.
  using StreamStarter = std::function<void(H2Stream&)>;

  // `reader` and `writer`: the connection's socket (and TLS) with a deadline each; the
  // reader's buffer holds the bytes already read (the h2c preface, for one). `idle_timeout`:
  // a connection without streams is closed after it (the keep-alive timeout); `abuse_closed`
  // counts connections ended by a defence.
  H2Server(Side reader, Side writer, Http2Settings settings, std::chrono::milliseconds idle_timeout,
           obs::Counter& abuse_closed, StreamStarter start);
  ~H2Server();
  H2Server(const H2Server&) = delete;
  H2Server& operator=(const H2Server&) = delete;

  // Serves the connection until it ends and every lifecycle it started has finished.
  boost::asio::awaitable<void> run();
  // Graceful close (the gateway drains): GOAWAY, the streams in progress finish.
  void drain();

  // --- For H2Stream ---
  // An interim (1xx) head, or the final one (with a body to come from the stream's take()).
  void submit_interim(H2Stream& stream, const std::vector<http::H2Field>& fields);
  void submit_response(H2Stream& stream, const std::vector<http::H2Field>& fields, bool body_follows);
  // The trailer section, from within the data source's last call (nghttp2 allows it there).
  void submit_trailers(H2Stream& stream, const std::vector<http::H2Field>& fields);
  void resume(std::int32_t stream_id);
  void reset(std::int32_t stream_id, std::uint32_t error_code);
  void consume(std::int32_t stream_id, std::size_t bytes);
  void stream_finished(H2Stream& stream);
  // Response bytes were queued: starts the stall clock unless it runs.
  void output_queued() {
    if (waiting_since_ == std::chrono::steady_clock::time_point{}) waiting_since_ = std::chrono::steady_clock::now();
  }

  // Frame budget for the floods above.
  static constexpr double kControlBurst = 1000;
  static constexpr double kControlRate = 100;  // per second
  // Decoded bytes one header block may expand to (beyond, the peer is hostile).
  std::size_t header_block_cap() const { return 4 * static_cast<std::size_t>(settings_.max_header_list_size) + 65536; }

 private:
  struct Callbacks;  // nghttp2's callbacks (h2_server.cpp)
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  boost::asio::awaitable<void> watch_idle();
  // Sends nghttp2's queued frames; false when the socket failed.
  boost::asio::awaitable<bool> flush();
  // After a flush: the stall clock forgets data that no longer waits.
  void note_output_progress();
  bool stalled(std::chrono::steady_clock::time_point now) const;
  // Ends the connection for a stall (GOAWAY ENHANCE_YOUR_CALM).
  void end_stalled();
  void kick();
  // Ends the session with GOAWAY `code` (when not already ending).
  void terminate(std::uint32_t code);
  // A frame of the flood kinds arrived: false when the budget is spent.
  bool spend_control_budget();
  H2Stream* find(std::int32_t stream_id);
  // A stream object for a new stream id: a recycled one when there is one.
  std::unique_ptr<H2Stream> new_stream(std::int32_t stream_id);
  // The stream is over for nghttp2 and for its lifecycle: kept for the next one.
  void retire(std::unordered_map<std::int32_t, std::unique_ptr<H2Stream>>::iterator it);
  // Client stream ids: a HEADERS frame on an id below the highest used that was never opened
  // is a connection error (RFC 9113 5.1.1); nghttp2 ignores it, unable to tell it from late
  // trailers on a stream it reset. Remembered for the last kOpenedWindow ids; older ones are
  // given nghttp2's benefit of the doubt.
  static constexpr std::int32_t kOpenedWindow = 4096;
  void note_opened(std::int32_t stream_id);
  bool never_opened(std::int32_t stream_id) const;
  std::size_t running_lifecycles() const { return lifecycles_; }

  Side reader_;
  Side writer_;
  Http2Settings settings_;
  StreamStarter start_;
  std::chrono::milliseconds idle_timeout_;
  obs::Counter& abuse_closed_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, std::unique_ptr<H2Stream>> streams_;
  // Retired streams, at most as many as may be open at once: a client that keeps that many
  // in flight has a warm object for every new one (their large buffers are released).
  std::vector<std::unique_ptr<H2Stream>> spare_;
  std::size_t lifecycles_ = 0;            // started and not finished (reset ones included)
  std::size_t header_block_bytes_ = 0;    // decoded bytes of the header block being read
  std::int32_t highest_opened_ = 0;
  std::vector<bool> opened_ = std::vector<bool>(kOpenedWindow);  // by (id / 2) % kOpenedWindow
  std::uint32_t goaway_code_ = NGHTTP2_NO_ERROR;  // our reason when a callback ends the session
  double control_budget_ = kControlBurst;
  std::chrono::steady_clock::time_point budget_at_;
  std::chrono::steady_clock::time_point last_active_;
  // The stall clock: since when response data has waited (zero: none waits), and when a DATA
  // frame last went out. Stalled: data waited and none went out for the write timeout.
  std::chrono::steady_clock::time_point waiting_since_{};
  std::chrono::steady_clock::time_point last_data_at_;
  bool data_sent_ = false;  // a DATA frame went out in the current flush
  bool ended_ = false;   // no more reading; the writer sends what is left and stops
  bool writer_done_ = false;
  boost::asio::steady_timer write_signal_;
  boost::asio::steady_timer idle_timer_;
  boost::asio::steady_timer done_signal_;  // lifecycles_ reached 0 after the end
  std::string out_;  // frames gathered for one write
  std::vector<nghttp2_nv> nva_;  // a head's fields for nghttp2 (reused)
  const nghttp2_nv* to_nva(const std::vector<http::H2Field>& fields);
};

}  // namespace portico::proxy
