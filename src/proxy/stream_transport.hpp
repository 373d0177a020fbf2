// A multiplexed stream as the transport of one side of an exchange (proxy/io.hpp's Side).
//
// The request lifecycle reads and writes HTTP/1.1 bytes; over HTTP/2 a stream turns them into
// frames and back. Two kinds exist: the client's stream on a connection Portico serves
// (H2Stream, proxy/h2_stream.hpp) and Portico's own stream to an HTTP/2 service (gRPC,
// H2ClientStream, proxy/h2_client.hpp). io.cpp reads and writes either through this interface,
// exactly as it would a socket: a call that cannot make progress now answers would_block and
// the caller awaits the matching wait_*() under its Deadline (whose hook, wake_instead, wakes
// the stream's waits instead of cancelling a socket).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <span>
#include <string_view>

namespace portico::proxy {

class StreamTransport {
 public:
  using error_code = boost::system::error_code;
  using Buffers = std::span<const boost::asio::const_buffer>;

  virtual ~StreamTransport() = default;
  // Message bytes into `data`: would_block when none yet, eof after the last, connection_reset
  // when the stream was reset or its connection ended.
  virtual std::size_t read(char* data, std::size_t size, error_code& ec) = 0;
  // Takes message bytes after the first `skip` of `buffers`; would_block when too many are
  // queued. Returns how many were taken.
  virtual std::size_t write(Buffers buffers, std::size_t skip, error_code& ec) = 0;
  // Suspends until read() or write() may make progress (or a wake(), or a reset).
  virtual boost::asio::awaitable<void> wait_readable() = 0;
  virtual boost::asio::awaitable<void> wait_writable() = 0;
  // Wakes both waits (they return; the caller looks again at what it waited for).
  virtual void interrupt() = 0;
};

// Calls piece(bytes) for each buffer's bytes after the first `skip` (a write's arguments),
// in order, while it returns true. Returns the bytes handed over.
template <class Piece>
std::size_t for_each_piece(StreamTransport::Buffers buffers, std::size_t skip, Piece piece) {
  std::size_t given = 0;
  for (const auto& b : buffers) {
    std::string_view bytes(static_cast<const char*>(b.data()), b.size());
    if (skip >= bytes.size()) {
      skip -= bytes.size();
      continue;
    }
    bytes.remove_prefix(skip);
    skip = 0;
    if (!piece(bytes)) break;
    given += bytes.size();
  }
  return given;
}

}  // namespace portico::proxy
