#include "cluster/channel.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <array>

namespace portico::cluster {

namespace asio = boost::asio;

asio::awaitable<Frame> read_frame(TlsSocket& socket, std::size_t max_payload) {
  std::array<unsigned char, 5> head{};
  co_await asio::async_read(socket, asio::buffer(head), asio::use_awaitable);
  std::size_t size = (std::size_t{head[0]} << 24) | (std::size_t{head[1]} << 16) | (std::size_t{head[2]} << 8) | head[3];
  if (size > max_payload) throw boost::system::system_error(asio::error::message_size, "frame larger than the maximum payload");
  Frame f;
  f.type = static_cast<char>(head[4]);
  f.payload.resize(size);
  if (size > 0) co_await asio::async_read(socket, asio::buffer(f.payload), asio::use_awaitable);
  co_return f;
}

asio::awaitable<void> write_frame(TlsSocket& socket, char type, std::string_view payload) {
  auto size = static_cast<std::uint32_t>(payload.size());
  std::array<unsigned char, 5> head{static_cast<unsigned char>(size >> 24), static_cast<unsigned char>(size >> 16),
                                    static_cast<unsigned char>(size >> 8), static_cast<unsigned char>(size),
                                    static_cast<unsigned char>(type)};
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(payload.data(), payload.size())};
  co_await asio::async_write(socket, buffers, asio::use_awaitable);
}

}  // namespace portico::cluster
