// A minimal, fast gRPC server for the benchmarks (h2c, one thread, epoll + nghttp2): every call,
// whatever its method, reads the request and answers one fixed response message (the file
// given, already framed with gRPC's 5-byte prefix) followed by `grpc-status: 0` trailers. It
// stands for a real service the way nginx's static answer does in the HTTP benchmarks: the
// service costs little, so the proxy's share of the CPU is what is measured.
//
//   grpc_static_server PORT RESPONSE_FILE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

namespace {

std::string g_response;  // the framed message every call gets

struct Connection {
  int fd = -1;
  nghttp2_session* session = nullptr;
  std::string out;  // bytes nghttp2 produced that the socket did not take yet
};

struct Body {
  std::size_t sent = 0;
};

nghttp2_nv field(const char* name, const char* value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name)), reinterpret_cast<uint8_t*>(const_cast<char*>(value)),
          std::strlen(name), std::strlen(value), NGHTTP2_NV_FLAG_NONE};
}

ssize_t read_body(nghttp2_session* session, int32_t stream, uint8_t* buf, size_t length, uint32_t* flags,
                  nghttp2_data_source* source, void*) {
  auto* body = static_cast<Body*>(source->ptr);
  std::size_t n = std::min(length, g_response.size() - body->sent);
  std::memcpy(buf, g_response.data() + body->sent, n);
  body->sent += n;
  if (body->sent == g_response.size()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    nghttp2_nv trailer[] = {field("grpc-status", "0")};
    nghttp2_submit_trailer(session, stream, trailer, 1);
  }
  return static_cast<ssize_t>(n);
}

int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void*) {
  bool request_ends = (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
                      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM);
  if (!request_ends) return 0;
  auto* body = new Body;
  nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, body);
  nghttp2_nv head[] = {field(":status", "200"), field("content-type", "application/grpc")};
  nghttp2_data_provider provider;
  provider.source.ptr = body;
  provider.read_callback = read_body;
  nghttp2_submit_response(session, frame->hd.stream_id, head, 2, &provider);
  return 0;
}

int on_stream_close(nghttp2_session* session, int32_t stream, uint32_t, void*) {
  delete static_cast<Body*>(nghttp2_session_get_stream_user_data(session, stream));
  return 0;
}

// Writes what nghttp2 has to send; false when the connection is to be closed.
bool flush(Connection& c) {
  for (;;) {
    if (c.out.empty()) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(c.session, &data);
      if (n < 0) return false;
      if (n == 0) return true;
      c.out.assign(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    ssize_t w = ::write(c.fd, c.out.data(), c.out.size());
    if (w < 0) return errno == EAGAIN;
    c.out.erase(0, static_cast<std::size_t>(w));
  }
}

void close_connection(int epoll, Connection* c) {
  epoll_ctl(epoll, EPOLL_CTL_DEL, c->fd, nullptr);
  ::close(c->fd);
  nghttp2_session_del(c->session);
  delete c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s PORT RESPONSE_FILE\n", argv[0]);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is an error return, not the end
  std::ifstream file(argv[2], std::ios::binary);
  g_response.assign(std::istreambuf_iterator<char>(file), {});
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 1024) != 0) {
    std::perror("listen");
    return 1;
  }
  nghttp2_session_callbacks* callbacks;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
  int epoll = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;
  epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &ev);
  epoll_event events[256];
  for (;;) {
    int n = epoll_wait(epoll, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        for (int fd; (fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          auto* c = new Connection;
          c->fd = fd;
          nghttp2_session_server_new(&c->session, callbacks, c);
          nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000}};
          nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings, 1);
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLOUT | EPOLLET;
          cev.data.ptr = c;
          epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &cev);
          if (!flush(*c)) close_connection(epoll, c);
        }
        continue;
      }
      auto* c = static_cast<Connection*>(events[i].data.ptr);
      bool alive = true;
      char buf[65536];
      for (;;) {
        ssize_t r = ::read(c->fd, buf, sizeof buf);
        if (r > 0) {
          if (nghttp2_session_mem_recv(c->session, reinterpret_cast<uint8_t*>(buf), static_cast<std::size_t>(r)) < 0) {
            alive = false;
            break;
          }
          continue;
        }
        if (r == 0 || errno != EAGAIN) alive = false;
        break;
      }
      if (alive) alive = flush(*c);
      if (!alive || (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session))) {
        close_connection(epoll, c);
      }
    }
  }
}
