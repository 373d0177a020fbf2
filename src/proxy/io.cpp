#include "proxy/io.hpp"

#include <array>
#include <boost/asio/write.hpp>

namespace portico::proxy {

namespace {
bool make_room(Side& side) {
  if (side.buffer.writable() == 0) side.buffer.compact();
  return side.buffer.writable() != 0;
}
}  // namespace

bool read_now(Side& side, error_code& ec) {
  if (!make_room(side)) {
    ec = boost::asio::error::no_buffer_space;
    return false;
  }
  std::size_t n = side.socket.read_some(boost::asio::buffer(side.buffer.write_ptr(), side.buffer.writable()), ec);
  if (ec) return false;
  side.buffer.commit(n);
  return true;
}

awaitable<error_code> read_more(Side& side) {
  if (!make_room(side)) co_return boost::asio::error::no_buffer_space;
  side.deadline.arm(side.read_timeout);
  auto [ec, n] = co_await side.socket.async_read_some(
      boost::asio::buffer(side.buffer.write_ptr(), side.buffer.writable()), use_tuple);
  side.deadline.disarm();
  if (side.deadline.expired()) co_return boost::asio::error::timed_out;
  side.buffer.commit(n);
  if (ec) co_return ec;
  co_return error_code{};
}

std::size_t write_now(Side& side, std::span<const boost::asio::const_buffer> buffers, error_code& ec) {
  std::size_t written = side.socket.write_some(buffers, ec);
  if (ec == boost::asio::error::would_block) {
    ec = {};
    return 0;
  }
  return written;
}

awaitable<error_code> write_rest(Side& side, std::span<const boost::asio::const_buffer> buffers, std::size_t skip) {
  std::array<boost::asio::const_buffer, 64> rest;
  std::size_t nrest = 0;
  for (const auto& b : buffers) {
    if (skip >= b.size()) {
      skip -= b.size();
      continue;
    }
    rest[nrest++] = boost::asio::buffer(static_cast<const char*>(b.data()) + skip, b.size() - skip);
    skip = 0;
  }
  if (nrest == 0) co_return error_code{};
  side.deadline.arm(side.write_timeout);
  auto [ec, n] = co_await boost::asio::async_write(
      side.socket, std::span<const boost::asio::const_buffer>(rest.data(), nrest), use_tuple);
  (void)n;
  side.deadline.disarm();
  if (side.deadline.expired()) co_return boost::asio::error::timed_out;
  co_return ec;
}

awaitable<error_code> write_all(Side& side, std::span<const boost::asio::const_buffer> buffers) {
  error_code ec;
  std::size_t written = write_now(side, buffers, ec);
  if (ec) co_return ec;
  if (written == boost::asio::buffer_size(buffers)) co_return error_code{};
  co_return co_await write_rest(side, buffers, written);
}

awaitable<error_code> write_all(Side& side, std::string_view bytes) {
  boost::asio::const_buffer b(bytes.data(), bytes.size());
  co_return co_await write_all(side, std::span<const boost::asio::const_buffer>(&b, 1));
}

}  // namespace portico::proxy
