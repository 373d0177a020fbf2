// I/O helpers shared by the downstream and upstream sides: read into a ByteBuffer and
// write gathered buffers, each under a per-operation deadline.
//
// The *_now functions are plain calls (no coroutine frame): the hot path tries them
// first and only awaits the coroutine versions when the kernel is not ready.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <span>

#include "core/byte_buffer.hpp"
#include "core/deadline.hpp"
#include "net/tls.hpp"
#include "proxy/stream_transport.hpp"

namespace portico::proxy {


using boost::asio::awaitable;
using boost::system::error_code;
inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

// A time limit on a whole series of reads, on top of the per-read timeout: the reads of one
// request head must end `allowance` after they began (nginx's client_header_timeout, which a
// client sending a byte now and then does not reset), and a request body's may be given a
// minimum rate (each `min_rate` bytes received earn one more second, as Apache's
// mod_reqtimeout MinRate).
struct ReadBudget {
  using Clock = std::chrono::steady_clock;
  Clock::time_point started{};
  std::chrono::milliseconds allowance{0};
  std::uint64_t min_rate = 0;  // bytes per second; 0: no rate, the allowance is all
  std::uint64_t received = 0;  // bytes read so far (read_now and read_more count them)
  Clock::time_point until() const {
    if (min_rate == 0) return started + allowance;
    return started + allowance + std::chrono::milliseconds(received * 1000 / min_rate);
  }
};

// One side of an exchange: a socket with its read buffer, deadline and timeouts, and the
// connection's TLS session when it has one (then every read and write goes through it), or
// a multiplexed stream (then the socket is not used: reads and writes are the stream's,
// proxy/stream_transport.hpp: the client's HTTP/2 stream or Portico's own to a gRPC service). The socket must be in non-blocking mode.
struct Side {
  boost::asio::ip::tcp::socket& socket;
  ByteBuffer& buffer;
  Deadline& deadline;
  std::chrono::milliseconds read_timeout;
  std::chrono::milliseconds write_timeout;
  net::TlsStream* tls = nullptr;
  StreamTransport* stream = nullptr;
  ReadBudget* budget = nullptr;  // when set, read_more ends by budget->until() too
};

// Waits until the socket is ready for what a TLS call asked for (readable or writable).
awaitable<error_code> wait_for_tls(boost::asio::ip::tcp::socket& socket, net::TlsStream::Want want);

// Reads what is available right now into side.buffer. True when bytes arrived; false
// with `ec` = would_block when nothing is there yet, or another error (eof, reset).
bool read_now(Side& side, error_code& ec);

// Reads what is available into side.buffer (compacting first when the tail is full),
// waiting under the read timeout (and the side's read budget). Returns asio::error::eof on a clean close and
// asio::error::timed_out on the deadline.
awaitable<error_code> read_more(Side& side);

// Writes what the kernel takes now (one writev). Returns the bytes written; `ec` is set
// for errors other than would_block.
std::size_t write_now(Side& side, std::span<const boost::asio::const_buffer> buffers, error_code& ec);

// Writes the buffers after their first `skip` bytes, waiting under the write timeout.
awaitable<error_code> write_rest(Side& side, std::span<const boost::asio::const_buffer> buffers, std::size_t skip);

// write_now, then write_rest for what is left.
awaitable<error_code> write_all(Side& side, std::span<const boost::asio::const_buffer> buffers);
awaitable<error_code> write_all(Side& side, std::string_view bytes);

}  // namespace portico::proxy
