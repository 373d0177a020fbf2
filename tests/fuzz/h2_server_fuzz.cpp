// HTTP/2 frame handling: the input is what a client sends after the connection preface, fed
// to the real H2Server (nghttp2 with Portico's session options and callbacks: stream
// bookkeeping, the frame budget, the header-block cap, never-opened ids) and H2Stream (the
// request head's translation, the body's framing, flow control, the response's HEADERS and
// DATA) over a socket pair. Each stream is served as the request lifecycle reads one: its
// HTTP/1.1 head and body read through the stream until the end, the head parsed by the strict
// parser, then a small response written (or the stream's refusal answered).
//
// Properties: no crash, leak or sanitizer report; the connection ends once the client has
// closed its side (a hang is a libFuzzer timeout), with every lifecycle it started finished;
// a translated head is never left incomplete by the strict parser.
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/byte_buffer.hpp"
#include "core/deadline.hpp"
#include "http/h1_parser.hpp"
#include "proxy/h2_server.hpp"
#include "proxy/h2_stream.hpp"
#include "proxy/io.hpp"

namespace asio = boost::asio;
using namespace portico;

namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::string_view kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property failed: %s\n", what);
    std::abort();
  }
}

// One stream's lifecycle, reduced to its reads and writes through the stream.
asio::awaitable<void> serve_stream(proxy::H2Stream& stream, int& finished) {
  std::string response(kResponse);
  if (int status = stream.refusal_status(); status != 0) {
    response = "HTTP/1.1 " + std::to_string(status) + " Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  } else {
    std::string request;
    char chunk[4096];
    for (;;) {
      boost::system::error_code ec;
      const std::size_t n = stream.read(chunk, sizeof chunk, ec);
      if (ec == asio::error::would_block) {
        co_await stream.wait_readable();
        continue;
      }
      if (ec) break;  // the end of the request, or its reset
      request.append(chunk, n);
    }
    if (request.find("\r\n\r\n") != std::string::npos) {
      http::RequestHead head;
      const auto outcome = http::parse_request_head(request, http::ParserLimits{}, head);
      check(outcome.state != http::ParseState::incomplete, "a translated head parses to an answer");
    }
  }
  asio::const_buffer buffers[] = {asio::buffer(response)};
  for (std::size_t written = 0; written < response.size();) {
    boost::system::error_code ec;
    written += stream.write(buffers, written, ec);
    if (ec == asio::error::would_block) {
      co_await stream.wait_writable();
      continue;
    }
    if (ec) break;  // reset: the lifecycle ends as on a lost socket
  }
  ++finished;
  stream.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return 0;
  // The client's bytes are all sent and its side closed before the server reads: the server
  // then serves what came and ends at the end of input. (A few KiB fit the socket's buffer.)
  std::string client(kPreface);
  client.append(reinterpret_cast<const char*>(data), size);
  const bool sent = ::write(fds[1], client.data(), client.size()) == static_cast<ssize_t>(client.size());
  ::shutdown(fds[1], SHUT_WR);
  if (!sent) {
    ::close(fds[0]);
    ::close(fds[1]);
    return 0;
  }
  {
    asio::io_context io;
    DeadlineQueue deadlines;
    BufferPool pool;
    asio::ip::tcp::socket socket(io);
    socket.assign(asio::ip::tcp::v4(), fds[0]);  // (any stream socket reads and writes alike)
    socket.non_blocking(true);
    ByteBuffer in;
    in.attach(&pool);
    in.acquire();
    Deadline read_deadline(deadlines, &socket), write_deadline(deadlines, &socket);
    const std::chrono::milliseconds kLong = std::chrono::hours(1);
    proxy::Side reader{socket, in, read_deadline, kLong, kLong};
    proxy::Side writer{socket, in, write_deadline, kLong, kLong};
    obs::Counter abuse_closed;
    int started = 0, finished = 0;
    bool ended = false;
    {
      proxy::H2Server server(reader, writer, proxy::Http2Settings{}, kLong, abuse_closed, [&](proxy::H2Stream& stream) {
        ++started;
        asio::co_spawn(io, serve_stream(stream, finished), asio::detached);
      });
      asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        co_await server.run();
        ended = true;
      }, asio::detached);
      io.run();
      check(ended, "the connection ends after the client's side closed");
      check(started == finished, "every lifecycle started is finished");
    }
  }
  ::close(fds[1]);
  return 0;
}
