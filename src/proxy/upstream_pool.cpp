#include "proxy/upstream_pool.hpp"

#include <sys/socket.h>

namespace portico::proxy {
namespace {

// True when the peer has not closed the idle connection and sent nothing unexpected.
bool still_open(boost::asio::ip::tcp::socket& s) {
  char byte;
  ssize_t n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::unique_ptr<UpstreamConnection> UpstreamPool::take(const std::string& key, bool verify) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  auto now = std::chrono::steady_clock::now();
  while (!list.empty()) {
    auto conn = std::move(list.back());
    list.pop_back();
    auto idle = now - conn->idle_since;
    if (idle >= idle_timeout_) continue;
    if ((verify || idle >= kVerifyAfter) && !still_open(conn->socket)) continue;
    conn->reused = true;
    if (list.empty()) idle_.erase(it);
    return conn;
  }
  idle_.erase(it);  // keys come and go with hosts (an https service's server names): none kept empty
  return nullptr;
}

void UpstreamPool::give(std::unique_ptr<UpstreamConnection> conn) {
  if (conn->h2) return;  // its connection stays in the worker's H2ClientPool
  if (conn->requests >= max_requests_ || !conn->buffer.empty()) return;
  if (conn->tls && conn->tls->has_pending()) return;  // bytes past the response: not clean
  auto& list = idle_[conn->pool_key];
  if (list.size() >= max_idle_) return;
  conn->buffer.release();
  conn->deadline.disarm();
  conn->idle_since = std::chrono::steady_clock::now();
  list.push_back(std::move(conn));
}

void UpstreamPool::sweep() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = idle_.begin(); it != idle_.end();) {
    std::erase_if(it->second, [&](const auto& c) { return now - c->idle_since >= idle_timeout_; });
    it = it->second.empty() ? idle_.erase(it) : std::next(it);
  }
}

std::size_t UpstreamPool::idle_count() const {
  std::size_t n = 0;
  for (const auto& [key, list] : idle_) n += list.size();
  return n;
}

}  // namespace portico::proxy
