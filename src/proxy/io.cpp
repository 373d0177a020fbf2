#include "proxy/io.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <boost/asio/write.hpp>


namespace portico::proxy {

namespace {
using Want = net::TlsStream::Want;
using boost::asio::const_buffer;

bool make_room(Side& side) {
  if (side.buffer.writable() == 0) side.buffer.compact();
  return side.buffer.writable() != 0;
}


// A TLS record's worth of plaintext: small pieces (a head's parts, a short body) are gathered
// into one write, so they go out as one record in one send instead of one each.
constexpr std::size_t kGatherBytes = 16 * 1024;

// The bytes to hand to TLS next, `offset` bytes into `buffers`: the rest of the current
// buffer when it is large (or the last one), else the pieces from there gathered in
// `scratch`. The same offset over the same buffers always gives the same bytes (OpenSSL
// wants a blocked write repeated as it was).
std::string_view tls_piece(std::span<const const_buffer> buffers, std::size_t offset,
                           std::array<char, kGatherBytes>& scratch) {
  std::size_t k = 0;
  while (k < buffers.size() && offset >= buffers[k].size()) offset -= buffers[k++].size();
  if (k == buffers.size()) return {};
  std::string_view first(static_cast<const char*>(buffers[k].data()) + offset, buffers[k].size() - offset);
  if (first.size() >= kGatherBytes / 2 || k + 1 == buffers.size()) return first;
  std::size_t used = 0;
  for (; k < buffers.size() && used < kGatherBytes; ++k, offset = 0) {
    std::size_t n = std::min(buffers[k].size() - offset, kGatherBytes - used);
    std::memcpy(scratch.data() + used, static_cast<const char*>(buffers[k].data()) + offset, n);
    used += n;
  }
  return {scratch.data(), used};
}

// Writes through TLS from `offset` until done or the socket is full; the bytes taken.
// ec = would_block (and `want`) when it stopped for the socket.
std::size_t tls_write_some(net::TlsStream& tls, std::span<const const_buffer> buffers, std::size_t offset, Want& want,
                           error_code& ec) {
  thread_local std::array<char, kGatherBytes> scratch;
  std::size_t total = 0;
  for (;;) {
    std::string_view piece = tls_piece(buffers, offset + total, scratch);
    if (piece.empty()) return total;
    total += tls.write(piece.data(), piece.size(), want, ec);  // (whole records: maybe less than the piece)
    if (ec) return total;
  }
}

// Arms the side's deadline for a read: the read timeout, or sooner when its budget ends first.
void arm_read(Side& side) {
  if (side.budget == nullptr) side.deadline.arm(side.read_timeout);
  else side.deadline.arm_by(side.budget->until(), side.read_timeout);
}

// Commits `n` bytes read into the side's buffer (and counts them against its budget).
void commit_read(Side& side, std::size_t n) {
  side.buffer.commit(n);
  if (side.budget != nullptr) side.budget->received += n;
}

// Waits for the socket to be ready as TLS wants, under the side's armed deadline.
awaitable<error_code> wait_ready(Side& side, Want want) {
  error_code ec = co_await wait_for_tls(side.socket, want);
  if (side.deadline.expired()) co_return boost::asio::error::timed_out;
  co_return ec;
}
}  // namespace

awaitable<error_code> wait_for_tls(boost::asio::ip::tcp::socket& socket, net::TlsStream::Want want) {
  if (want == Want::write) {
    auto [ec] = co_await socket.async_wait(boost::asio::socket_base::wait_write, use_tuple);
    co_return ec;
  }
  // Readable: a one-byte peek rather than async_wait (which costs an epoll_ctl per call in
  // Asio's reactor; a read keeps the registered descriptor as it is). The byte stays for
  // OpenSSL; a peer's close is left for its next read to report.
  char byte;
  auto [ec, n] = co_await socket.async_receive(boost::asio::buffer(&byte, 1), boost::asio::socket_base::message_peek,
                                              use_tuple);
  (void)n;
  co_return ec == boost::asio::error::eof ? error_code{} : ec;
}

bool read_now(Side& side, error_code& ec) {
  if (!make_room(side)) {
    ec = boost::asio::error::no_buffer_space;
    return false;
  }
  std::size_t n = 0;
  if (side.stream != nullptr) {
    n = side.stream->read(side.buffer.write_ptr(), side.buffer.writable(), ec);
  } else if (side.tls != nullptr) {
    Want want;
    n = side.tls->read(side.buffer.write_ptr(), side.buffer.writable(), want, ec);
  } else {
    n = side.socket.read_some(boost::asio::buffer(side.buffer.write_ptr(), side.buffer.writable()), ec);
  }
  if (ec) return false;
  commit_read(side, n);
  return true;
}

awaitable<error_code> read_more(Side& side) {
  if (!make_room(side)) co_return boost::asio::error::no_buffer_space;
  arm_read(side);
  if (side.stream != nullptr) {
    for (;;) {
      error_code ec;
      std::size_t n = side.stream->read(side.buffer.write_ptr(), side.buffer.writable(), ec);
      if (ec != boost::asio::error::would_block) {
        side.deadline.disarm();
        commit_read(side, n);
        co_return ec;
      }
      co_await side.stream->wait_readable();
      if (side.deadline.expired()) co_return boost::asio::error::timed_out;
    }
  }
  if (side.tls != nullptr) {
    // Nothing in OpenSSL's buffer: wait for the socket first (its speculative read costs a
    // syscall; a TLS read that finds nothing costs OpenSSL's read path as well).
    Want want = side.tls->has_pending() ? Want::nothing : Want::read;
    for (;;) {
      if (want != Want::nothing) {
        error_code waited = co_await wait_ready(side, want);
        if (waited) {
          side.deadline.disarm();
          co_return waited;
        }
      }
      error_code ec;
      std::size_t n = side.tls->read(side.buffer.write_ptr(), side.buffer.writable(), want, ec);
      if (ec != boost::asio::error::would_block) {
        side.deadline.disarm();
        commit_read(side, n);
        co_return ec;
      }
    }
  }
  auto [ec, n] = co_await side.socket.async_read_some(
      boost::asio::buffer(side.buffer.write_ptr(), side.buffer.writable()), use_tuple);
  side.deadline.disarm();
  if (side.deadline.expired()) co_return boost::asio::error::timed_out;
  commit_read(side, n);
  if (ec) co_return ec;
  co_return error_code{};
}

std::size_t write_now(Side& side, std::span<const boost::asio::const_buffer> buffers, error_code& ec) {
  std::size_t written = 0;
  if (side.stream != nullptr) {
    written = side.stream->write(buffers, 0, ec);
  } else if (side.tls != nullptr) {
    Want want;
    written = tls_write_some(*side.tls, buffers, 0, want, ec);
  } else {
    written = side.socket.write_some(buffers, ec);
  }
  if (ec == boost::asio::error::would_block) {
    ec = {};
    return written;
  }
  return written;
}

awaitable<error_code> write_rest(Side& side, std::span<const boost::asio::const_buffer> buffers, std::size_t skip) {
  if (side.stream != nullptr) {
    const std::size_t total = boost::asio::buffer_size(buffers);
    side.deadline.arm(side.write_timeout);
    while (skip < total) {
      error_code ec;
      skip += side.stream->write(buffers, skip, ec);
      if (ec && ec != boost::asio::error::would_block) {
        side.deadline.disarm();
        co_return ec;
      }
      if (ec) {
        co_await side.stream->wait_writable();
        if (side.deadline.expired()) co_return boost::asio::error::timed_out;
      }
    }
    side.deadline.disarm();
    co_return error_code{};
  }
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
  std::span<const boost::asio::const_buffer> pending(rest.data(), nrest);
  side.deadline.arm(side.write_timeout);
  if (side.tls != nullptr) {
    const std::size_t total = boost::asio::buffer_size(pending);
    std::size_t done = 0;
    for (;;) {
      Want want = Want::nothing;
      error_code ec;
      done += tls_write_some(*side.tls, pending, done, want, ec);
      if (done >= total) break;
      if (ec && ec != boost::asio::error::would_block) {
        side.deadline.disarm();
        co_return ec;
      }
      if (ec) {
        error_code waited = co_await wait_ready(side, want);
        if (waited) {
          side.deadline.disarm();
          co_return waited;
        }
      }
    }
    side.deadline.disarm();
    co_return error_code{};
  }
  auto [ec, n] = co_await boost::asio::async_write(side.socket, pending, use_tuple);
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
