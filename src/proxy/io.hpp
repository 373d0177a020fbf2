// Coroutine I/O helpers shared by the downstream and upstream sides: read into a
// ByteBuffer and write gathered buffers, each under a per-operation deadline.
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

namespace portico::proxy {

using boost::asio::awaitable;
using boost::system::error_code;
inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

// One side of an exchange: a socket with its read buffer, deadline and timeouts.
struct Side {
  boost::asio::ip::tcp::socket& socket;
  ByteBuffer& buffer;
  Deadline& deadline;
  std::chrono::milliseconds read_timeout;
  std::chrono::milliseconds write_timeout;
};

// Reads what is available into side.buffer (compacting first when the tail is full).
// Returns asio::error::eof on a clean close and asio::error::timed_out on the deadline.
// With `try_now`, a direct non-blocking read is tried first (when data is likely there).
awaitable<error_code> read_more(Side& side, bool try_now = false);

// Writes all buffers (one writev when the kernel accepts it) under the write timeout.
// The socket must be in non-blocking mode: a direct write is tried first.
awaitable<error_code> write_all(Side& side, std::span<const boost::asio::const_buffer> buffers);
awaitable<error_code> write_all(Side& side, std::string_view bytes);

}  // namespace portico::proxy
