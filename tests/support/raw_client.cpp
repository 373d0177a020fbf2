#include "support/raw_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace portico::test {
namespace {
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void parse_head(Response& r) {
  std::size_t pos = r.head.find("\r\n");
  std::string status_line = r.head.substr(0, pos);
  if (status_line.size() >= 12) r.status = std::atoi(status_line.substr(9, 3).c_str());
  while (pos != std::string::npos && pos + 2 < r.head.size()) {
    std::size_t e = r.head.find("\r\n", pos + 2);
    std::string field = r.head.substr(pos + 2, e == std::string::npos ? std::string::npos : e - pos - 2);
    std::size_t colon = field.find(':');
    if (colon != std::string::npos) {
      std::string v = field.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      r.fields[lower(field.substr(0, colon))] = v;
    }
    pos = e;
  }
}
}  // namespace

int Response::count(const std::string& name) const {
  int n = 0;
  std::string h = lower(head);
  std::size_t pos = 0;
  while ((pos = h.find("\r\n" + name + ":", pos)) != std::string::npos) {
    ++n;
    pos += 2;
  }
  return n;
}

RawConnection::RawConnection(int port, std::chrono::milliseconds timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("connect to port " + std::to_string(port) + " failed: " + std::strerror(errno));
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

bool RawConnection::send(const std::string& bytes) { return send_all(fd_, bytes); }

void RawConnection::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

bool RawConnection::fill() {
  char tmp[65536];
  ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  buf_.append(tmp, static_cast<std::size_t>(n));
  return true;
}

Response RawConnection::read_response(bool head_request) {
  Response r;
  std::size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return r;
  }
  r.head = buf_.substr(0, end);
  buf_.erase(0, end + 4);
  parse_head(r);
  bool bodyless = head_request || r.status == 204 || r.status == 304 || r.status < 200;
  if (bodyless) {
    r.complete = true;
    return r;
  }
  if (!r.field("content-length").empty()) {
    std::size_t n = std::stoull(r.field("content-length"));
    while (buf_.size() < n) {
      if (!fill()) return r;
    }
    r.body = buf_.substr(0, n);
    buf_.erase(0, n);
    r.complete = true;
  } else if (lower(r.field("transfer-encoding")) == "chunked") {
    for (;;) {
      std::size_t e;
      while ((e = buf_.find("\r\n")) == std::string::npos) {
        if (!fill()) return r;
      }
      std::size_t size = std::stoull(buf_.substr(0, e), nullptr, 16);
      buf_.erase(0, e + 2);
      if (size == 0) {
        while ((e = buf_.find("\r\n")) == std::string::npos) {
          if (!fill()) return r;
        }
        buf_.erase(0, e + 2);
        r.complete = true;
        return r;
      }
      while (buf_.size() < size + 2) {
        if (!fill()) return r;
      }
      r.body += buf_.substr(0, size);
      buf_.erase(0, size + 2);
    }
  } else {
    while (fill()) {
    }
    r.body = buf_;
    buf_.clear();
    r.complete = true;
  }
  return r;
}

std::string RawConnection::read_all() {
  while (fill()) {
  }
  std::string out;
  out.swap(buf_);
  return out;
}

bool RawConnection::closed_by_peer(std::chrono::milliseconds wait) {
  pollfd p{fd_, POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc <= 0) return false;
    char tmp[4096];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
    buf_.append(tmp, static_cast<std::size_t>(n));
  }
}

Response parse_response(const std::string& raw) {
  Response r;
  std::size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  r.head = raw.substr(0, end);
  r.body = raw.substr(end + 4);
  parse_head(r);
  r.complete = true;
  return r;
}

std::string raw_exchange(int port, const std::string& bytes, std::chrono::milliseconds timeout) {
  RawConnection c(port, timeout);
  c.send(bytes);
  return c.read_all();
}

}  // namespace portico::test
