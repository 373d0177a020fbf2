// Portico as an HTTP/2 client: the upstream side of gRPC services (protocol grpc / grpcs).
//
// The request lifecycle is HTTP/1.1 on both sides (docs/architecture.md): for a gRPC service,
// an attempt's upstream Side carries an H2ClientStream instead of a socket. What the attempt
// writes (the request head made by the head writer, then the body) becomes HEADERS and DATA on
// a stream of a shared connection; the service's HEADERS, DATA and trailers read back as an
// HTTP/1.1 response with a chunked body whose trailer section carries the trailers
// (grpc-status, grpc-message). The relay forwards that section (PumpSpec::forward_trailers)
// and the client's H2Stream turns it into trailing HEADERS again.
//
// Connections are multiplexed: each worker keeps its own (H2ClientPool, no locking) per pool
// key (address, TLS name and settings), and a request takes a stream on one with room under
// the service's SETTINGS_MAX_CONCURRENT_STREAMS (at most kMaxStreams), or opens a new one.
// Flow control is real both ways: received DATA is given back to the service's window as the
// lifecycle reads it, and the lifecycle's writes wait while kHighWater request bytes are queued.
#pragma once

#include <nghttp2/nghttp2.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/deadline.hpp"
#include "proxy/h2_outgoing_body.hpp"
#include "proxy/stream_transport.hpp"

namespace portico {
class Worker;
}

namespace portico::proxy {

struct UpstreamConnection;
class H2ClientConnection;

// One exchange on an H2ClientConnection, as the transport of the attempt's upstream Side.
// Destroying it before the exchange is complete resets the stream (CANCEL).
class H2ClientStream final : public StreamTransport {
 public:
  static constexpr std::size_t kHighWater = H2OutgoingBody::kHighWater;

  H2ClientStream(std::shared_ptr<H2ClientConnection> connection, bool tls);
  ~H2ClientStream() override;
  H2ClientStream(const H2ClientStream&) = delete;
  H2ClientStream& operator=(const H2ClientStream&) = delete;

  // --- The lifecycle's side ---
  // The response as HTTP/1.1 bytes: head, chunks, last chunk with the trailers.
  std::size_t read(char* data, std::size_t size, error_code& ec) override;
  // The request as HTTP/1.1 bytes: its head becomes the HEADERS, its body (content-length or
  // chunked) the DATA.
  std::size_t write(Buffers buffers, std::size_t skip, error_code& ec) override;
  boost::asio::awaitable<void> wait_readable() override;
  boost::asio::awaitable<void> wait_writable() override;
  // The Deadline hook (core/deadline.hpp): wakes both waits; the lifecycle sees expiry.
  static void wake(void* self);
  void interrupt() override { wake_all(); }
  // The service refused the stream unprocessed (REFUSED_STREAM, or beyond a GOAWAY's last
  // stream): safe to send again elsewhere.
  bool refused() const { return refused_; }
  // Request and response both complete.
  bool complete() const { return request_done_ && response_done_; }
  // Ends an incomplete exchange now: the stream is reset (CANCEL), reads and writes fail.
  void cancel();
  boost::asio::any_io_executor executor() { return read_signal_.get_executor(); }

  // --- The connection's side (nghttp2's callbacks) ---
  void add_field(std::string_view name, std::string_view value);
  // A HEADERS frame's fields are all in: the response head (an interim 1xx is dropped) or,
  // after it, the trailers.
  void headers_done(bool end_stream);
  void receive_data(const std::uint8_t* data, std::size_t size);
  void response_ended();  // END_STREAM on a DATA frame
  void closed(std::uint32_t error_code);
  void abort();  // the connection is gone
  // The request body for nghttp2's data source; NGHTTP2_ERR_DEFERRED when none is queued.
  long take(std::uint8_t* out, std::size_t size, std::uint32_t* flags);
  std::int32_t id() const { return id_; }

 private:
  enum class Out { head, body, done };
  bool feed_head(std::string_view& bytes);
  std::size_t queued() const { return body_.queued(); }
  void wake_all();

  std::shared_ptr<H2ClientConnection> connection_;
  bool tls_;
  std::int32_t id_ = -1;

  // Request.
  Out out_ = Out::head;
  std::string head_out_;  // a head written in pieces
  H2OutgoingBody body_;  // the request body for nghttp2
  bool request_done_ = false;

  // Response, as HTTP/1.1 bytes for read().
  std::string fields_;       // the HEADERS frame being received, as "name: value\r\n" lines
  int status_ = 0;
  bool head_received_ = false;
  std::string in_;
  std::size_t in_at_ = 0;
  std::size_t unconsumed_ = 0;  // DATA bytes received and not yet given back to the window
  bool response_done_ = false;
  bool reset_ = false;
  bool refused_ = false;
  bool closed_ = false;  // nghttp2 is done with the stream (or the connection ended)

  boost::asio::steady_timer read_signal_;
  boost::asio::steady_timer write_signal_;
};

// One HTTP/2 connection to a service address. Owned by the worker's H2ClientPool and by the
// streams on it; its reader and writer coroutines run until the connection ends.
class H2ClientConnection : public std::enable_shared_from_this<H2ClientConnection> {
 public:
  static constexpr std::uint32_t kMaxStreams = 100;  // per connection, whatever the service allows
  static constexpr std::int32_t kStreamWindow = 1 << 20;

  // Takes a connected socket (TLS done, h2 agreed by ALPN when TLS) and starts serving it.
  static std::shared_ptr<H2ClientConnection> start(Worker& worker, std::unique_ptr<UpstreamConnection> conn);
  H2ClientConnection(Worker& worker, std::unique_ptr<UpstreamConnection> conn);
  ~H2ClientConnection();

  const std::string& pool_key() const;
  boost::asio::any_io_executor executor() const;
  // Room for one more stream: alive, no GOAWAY, under the concurrency limit.
  bool usable() const;
  std::size_t streams() const { return reserved_; }
  bool ended() const { return ended_; }
  std::chrono::steady_clock::time_point idle_since() const { return idle_since_; }
  // Ends the connection (GOAWAY, then close): the idle sweep and the worker's shutdown.
  void close();

  // --- For H2ClientStream ---
  void reserve() { ++reserved_; }
  void unreserve(H2ClientStream& stream);
  // Submits the request HEADERS: the stream id, or <= 0 when nghttp2 refused.
  std::int32_t submit(H2ClientStream& stream, const std::vector<nghttp2_nv>& fields, bool body_follows);
  void resume(std::int32_t stream_id);
  void reset(std::int32_t stream_id, std::uint32_t error_code);
  void consume(std::int32_t stream_id, std::size_t bytes);

 private:
  struct Callbacks;
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  H2ClientStream* find(std::int32_t stream_id);
  void kick();
  void end();

  Worker& worker_;
  std::unique_ptr<UpstreamConnection> conn_;
  Deadline write_deadline_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, H2ClientStream*> streams_;
  std::size_t reserved_ = 0;  // streams that exist (submitted or about to be)
  bool going_away_ = false;
  bool ended_ = false;
  std::chrono::steady_clock::time_point idle_since_;
  boost::asio::steady_timer write_signal_;
  std::string out_;
};

// A worker's HTTP/2 connections to services, by pool key.
class H2ClientPool {
 public:
  explicit H2ClientPool(std::chrono::milliseconds idle_timeout) : idle_timeout_(idle_timeout) {}
  // A connection to `key` with room for a stream, or null.
  std::shared_ptr<H2ClientConnection> find(const std::string& key);
  void add(std::shared_ptr<H2ClientConnection> connection);
  // Drops ended connections and closes those without streams for the idle timeout.
  void sweep();
  void clear();

 private:
  std::chrono::milliseconds idle_timeout_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<H2ClientConnection>>> connections_;
};

}  // namespace portico::proxy
