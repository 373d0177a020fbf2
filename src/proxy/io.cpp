#include "proxy/io.hpp"

#include <boost/asio/write.hpp>

namespace portico::proxy {

awaitable<error_code> read_more(Side& side) {
  if (side.buffer.writable() == 0) side.buffer.compact();
  if (side.buffer.writable() == 0) co_return boost::asio::error::no_buffer_space;
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
  side.deadline.arm(side.write_timeout);
  auto [ec, n] = co_await boost::asio::async_write(side.socket, buffers, use_tuple);
  (void)n;
  side.deadline.disarm();
  if (side.deadline.expired()) co_return boost::asio::error::timed_out;
  co_return ec;
}

awaitable<error_code> write_all(Side& side, std::string_view bytes) {
  boost::asio::const_buffer b(bytes.data(), bytes.size());
  co_return co_await write_all(side, std::span<const boost::asio::const_buffer>(&b, 1));
}

}  // namespace portico::proxy
