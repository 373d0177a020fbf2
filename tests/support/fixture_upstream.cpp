#include "support/fixture_upstream.hpp"
#include "support/raw_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace portico::test {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads into buf until it contains `needle`; false on EOF/error.
bool read_until(int fd, std::string& buf, const std::string& needle, std::size_t& pos) {
  for (;;) {
    pos = buf.find(needle);
    if (pos != std::string::npos) return true;
    char tmp[16384];
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<std::size_t>(n));
  }
}

bool read_exact(int fd, std::string& buf, std::size_t want) {
  while (buf.size() < want) {
    char tmp[16384];
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<std::size_t>(n));
  }
  return true;
}

std::string response(int status, const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " Fixture\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

}  // namespace

std::string RecordedRequest::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

int RecordedRequest::count(const std::string& name) const {
  return static_cast<int>(std::count_if(headers.begin(), headers.end(), [&](const auto& h) { return h.first == name; }));
}

FixtureUpstream::FixtureUpstream(std::string name, int port) : name_(std::move(name)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("fixture upstream: cannot bind port " + std::to_string(port));
  }
  ::listen(listen_fd_, 512);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FixtureUpstream::~FixtureUpstream() { stop(); }

void FixtureUpstream::stop() {
  if (stopping_.exchange(true)) return;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

std::vector<RecordedRequest> FixtureUpstream::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::size_t FixtureUpstream::request_count() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

void FixtureUpstream::clear() {
  std::lock_guard lock(mu_);
  requests_.clear();
}

void FixtureUpstream::accept_loop() {
  while (!stopping_) {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int id = ++connections_;
    std::lock_guard lock(mu_);
    open_fds_.push_back(fd);
    threads_.emplace_back([this, fd, id] { serve(fd, id); });
  }
}

void FixtureUpstream::serve(int fd, int connection_id) {
  std::string buf;
  while (!stopping_) {
    std::size_t end = 0;
    if (!read_until(fd, buf, "\r\n\r\n", end)) break;
    std::string head = buf.substr(0, end);
    buf.erase(0, end + 4);
    RecordedRequest req;
    req.connection_id = connection_id;
    std::size_t line_end = head.find("\r\n");
    std::string line = head.substr(0, line_end);
    std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    req.method = line.substr(0, sp1);
    req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    req.version = line.substr(sp2 + 1);
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      std::size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string field = head.substr(pos, e - pos);
      std::size_t colon = field.find(':');
      std::string value = field.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      req.headers.emplace_back(lower(field.substr(0, colon)), value);
      pos = e + 2;
    }
    if (req.target == "/no-read") {
      // Never reads the body nor answers: the sender's writes eventually block.
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
      }
      while (!stopping_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      break;
    }
    // Body: Content-Length or chunked.
    std::string cl = req.header("content-length");
    bool ok = true;
    if (!cl.empty()) {
      std::size_t n = std::stoull(cl);
      ok = read_exact(fd, buf, n);
      if (ok) {
        req.body = buf.substr(0, n);
        buf.erase(0, n);
      }
    } else if (lower(req.header("transfer-encoding")) == "chunked") {
      for (;;) {
        std::size_t e = 0;
        if (!(ok = read_until(fd, buf, "\r\n", e))) break;
        std::size_t size = std::stoull(buf.substr(0, e), nullptr, 16);
        buf.erase(0, e + 2);
        if (size == 0) {
          ok = read_until(fd, buf, "\r\n", e);  // (no trailers are sent by the gateway)
          if (ok) buf.erase(0, e + 2);
          break;
        }
        if (!(ok = read_exact(fd, buf, size + 2))) break;
        req.body += buf.substr(0, size);
        buf.erase(0, size + 2);
      }
    }
    if (!ok) break;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(req);
    }

    std::string path = req.target.substr(0, req.target.find('?'));
    auto arg = [&](const std::string& prefix) { return path.substr(prefix.size()); };
    bool keep = true;
    for (int waited = 0; waited < delay_ms_ && !stopping_; waited += 5) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (hang_all_) path = "/hang";
    if (int forced = forced_status_; forced != 0) {
      keep = send_all(fd, response(forced, "{\"status\":" + std::to_string(forced) + ",\"upstream\":\"" + name_ + "\"}"));
    } else if (path.rfind("/status/", 0) == 0) {
      int status = std::stoi(arg("/status/"));
      std::string body = (status == 204 || status == 304) ? "" : "{\"status\":" + std::to_string(status) + "}";
      std::string r = "HTTP/1.1 " + std::to_string(status) + " Fixture\r\n";
      if (status != 204 && status != 304) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
      r += "\r\n" + body;
      keep = send_all(fd, r);
    } else if (path.rfind("/chunked/", 0) == 0) {
      int n = std::stoi(arg("/chunked/"));
      std::string r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n";
      for (int i = 0; i < n; ++i) {
        std::string piece = "chunk-" + std::to_string(i) + "\n";
        char size[16];
        std::snprintf(size, sizeof size, "%zx", piece.size());
        r += std::string(size) + "\r\n" + piece + "\r\n";
      }
      r += "0\r\n\r\n";
      keep = send_all(fd, r);
    } else if (path.rfind("/slow/", 0) == 0) {
      int ms = std::stoi(arg("/slow/"));
      for (int waited = 0; waited < ms && !stopping_; waited += 10) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      keep = send_all(fd, response(200, "{\"slow\":true}"));
    } else if (path == "/hang") {
      char tmp[256];
      while (!stopping_ && ::recv(fd, tmp, sizeof tmp, 0) > 0) {
      }
      keep = false;
    } else if (path == "/close") {
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until close");
      keep = false;
    } else if (path == "/close-after") {
      // Answers as a keep-alive response, then closes the idle connection shortly after
      // without announcing it (as upstreams with short keep-alive timeouts do).
      send_all(fd, response(200, "{\"close_after\":true}"));
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      keep = false;
    } else if (path == "/connection-close") {
      send_all(fd, response(200, "{\"closing\":true}", "Connection: close\r\n"));
      keep = false;
    } else if (path.rfind("/bytes/", 0) == 0) {
      std::size_t n = std::stoull(arg("/bytes/"));
      keep = send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n" + std::string(n, 'x'));
    } else if (path == "/bad-framing") {
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
      keep = false;
    } else {
      boost::json::object headers;
      for (const auto& [k, v] : req.headers) headers[k] = v;
      boost::json::object echo{{"upstream", name_},        {"method", req.method},
                               {"target", req.target},     {"headers", headers},
                               {"body_length", req.body.size()}, {"connection", connection_id}};
      std::string r = response(200, boost::json::serialize(echo));
      if (req.method == "HEAD") r.erase(r.find("\r\n\r\n") + 4);  // HEAD: head only
      keep = send_all(fd, r);
    }
    if (!keep) break;
  }
  ::shutdown(fd, SHUT_RDWR);
  std::lock_guard lock(mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  ::close(fd);
}

BlackholeListener::BlackholeListener() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listen_fd_, 0);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  // Fill the accept queue (backlog 0 still admits one or two) with non-blocking connects.
  for (int i = 0; i < 4; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers_.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

BlackholeListener::~BlackholeListener() {
  for (int fd : fillers_) ::close(fd);
  ::close(listen_fd_);
}

}  // namespace portico::test
