#include "proxy/io.hpp"

#include <array>
#include <boost/asio/write.hpp>

namespace portico::proxy {

awaitable<error_code> read_more(Side& side, bool try_now) {
  if (side.buffer.writable() == 0) side.buffer.compact();
  if (side.buffer.writable() == 0) co_return boost::asio::error::no_buffer_space;
  if (try_now) {
    error_code ec;
    std::size_t n = side.socket.read_some(boost::asio::buffer(side.buffer.write_ptr(), side.buffer.writable()), ec);
    if (!ec) {
      side.buffer.commit(n);
      co_return error_code{};
    }
    if (ec != boost::asio::error::would_block) co_return ec;
  }
  side.deadline.arm(side.read_timeout);
  auto [ec, n] = co_await side.socket.async_read_some(
      boost::asio::buffer(side.buffer.write_ptr(), side.buffer.writable()), use_tuple);
  side.deadline.disarm();
  if (side.deadline.expired()) co_return boost::asio::error::timed_out;
  side.buffer.commit(n);
  if (ec) co_return ec;
  co_return error_code{};
}

awaitable<error_code> write_all(Side& side, std::span<const boost::asio::const_buffer> buffers) {
  // Fast path: the socket is non-blocking and the kernel usually takes the whole
  // response at once, so try a direct writev before involving the event loop.
  error_code ec;
  std::size_t total = boost::asio::buffer_size(buffers);
  std::size_t written = side.socket.write_some(buffers, ec);
  if (!ec && written == total) co_return error_code{};
  if (ec && ec != boost::asio::error::would_block) co_return ec;
  if (ec) written = 0;
  // Slow path: wait for the rest under the write timeout.
  std::array<boost::asio::const_buffer, 64> rest;
  std::size_t nrest = 0, skip = written;
  for (const auto& b : buffers) {
    if (skip >= b.size()) {
      skip -= b.size();
      continue;
    }
    rest[nrest++] = boost::asio::buffer(static_cast<const char*>(b.data()) + skip, b.size() - skip);
    skip = 0;
  }
  side.deadline.arm(side.write_timeout);
  auto [wec, n] = co_await boost::asio::async_write(
      side.socket, std::span<const boost::asio::const_buffer>(rest.data(), nrest), use_tuple);
  (void)n;
  ec = wec;
  side.deadline.disarm();
  if (side.deadline.expired()) co_return boost::asio::error::timed_out;
  co_return ec;
}

awaitable<error_code> write_all(Side& side, std::string_view bytes) {
  boost::asio::const_buffer b(bytes.data(), bytes.size());
  co_return co_await write_all(side, std::span<const boost::asio::const_buffer>(&b, 1));
}

}  // namespace portico::proxy
