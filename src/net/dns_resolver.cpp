#include "net/dns_resolver.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <climits>
#include <mutex>

namespace portico::net {

namespace asio = boost::asio;

// One socket c-ares asked us to watch. The descriptor belongs to c-ares: released, never
// closed, when c-ares says it is done with it.
struct DnsResolver::Watch {
  Watch(asio::io_context& io, int fd) : descriptor(io, fd), fd(fd) {}
  asio::posix::stream_descriptor descriptor;
  int fd;
  bool want_read = false, want_write = false;
  bool reading = false, writing = false;  // a wait is pending
  bool alive = true;
};

DnsResolver::DnsResolver(asio::io_context& io, const std::string& servers, int timeout_ms, int tries,
                         std::string& error)
    : io_(io), timer_(io) {
  static std::once_flag init;
  std::call_once(init, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  ares_options options{};
  options.sock_state_cb = &DnsResolver::on_socket_state;
  options.sock_state_cb_data = this;
  options.timeout = timeout_ms;  // ms per try
  options.tries = tries;
  int rc = ares_init_options(&channel_, &options, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (rc != ARES_SUCCESS) {
    error = std::string("cannot start the DNS resolver: ") + ares_strerror(rc);
    channel_ = nullptr;
    return;
  }
  if (!servers.empty()) {
    rc = ares_set_servers_ports_csv(channel_, servers.c_str());
    if (rc != ARES_SUCCESS) error = "invalid DNS resolver list '" + servers + "': " + ares_strerror(rc);
  }
}

DnsResolver::~DnsResolver() {
  timer_.cancel();
  if (channel_ != nullptr) ares_destroy(channel_);  // callbacks run with ARES_EDESTRUCTION
  for (auto& [fd, w] : watches_) {
    w->alive = false;
    w->descriptor.release();
  }
}

void DnsResolver::resolve(const std::string& host, std::function<void(DnsAnswer)> done) {
  if (channel_ == nullptr) {
    DnsAnswer a;
    a.error = "DNS resolver unavailable";
    asio::post(io_, [done = std::move(done), a = std::move(a)]() mutable { done(std::move(a)); });
    return;
  }
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_INET;  // A records, as Kong's default dns_order
  auto* callback = new std::function<void(DnsAnswer)>(std::move(done));
  ares_getaddrinfo(
      channel_, host.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* result) {
        std::unique_ptr<std::function<void(DnsAnswer)>> cb(static_cast<std::function<void(DnsAnswer)>*>(arg));
        DnsAnswer answer;
        if (status != ARES_SUCCESS) {
          answer.error = ares_strerror(status);
        } else {
          int ttl = INT_MAX;
          for (auto* node = result->nodes; node != nullptr; node = node->ai_next) {
            if (node->ai_family != AF_INET) continue;
            auto* sin = reinterpret_cast<sockaddr_in*>(node->ai_addr);
            asio::ip::address_v4::bytes_type bytes;
            std::memcpy(bytes.data(), &sin->sin_addr, 4);
            asio::ip::address a = asio::ip::address_v4(bytes);
            bool seen = false;
            for (const auto& x : answer.addresses) seen |= x == a;
            if (!seen) answer.addresses.push_back(a);
            ttl = std::min(ttl, node->ai_ttl);
          }
          answer.ttl_seconds = ttl == INT_MAX ? 0 : std::max(0, ttl);
          if (answer.addresses.empty()) answer.error = "no A record";
        }
        if (result != nullptr) ares_freeaddrinfo(result);
        if (status != ARES_EDESTRUCTION) (*cb)(std::move(answer));
      },
      callback);
  schedule_timeout();
}

void DnsResolver::on_socket_state(void* self, int fd, int readable, int writable) {
  static_cast<DnsResolver*>(self)->watch(fd, readable != 0, writable != 0);
}

void DnsResolver::watch(int fd, bool readable, bool writable) {
  auto it = watches_.find(fd);
  if (!readable && !writable) {
    if (it != watches_.end()) {
      it->second->alive = false;
      boost::system::error_code ec;
      it->second->descriptor.cancel(ec);
      it->second->descriptor.release();
      watches_.erase(it);
    }
    return;
  }
  if (it == watches_.end()) it = watches_.emplace(fd, std::make_shared<Watch>(io_, fd)).first;
  auto w = it->second;
  w->want_read = readable;
  w->want_write = writable;
  if (readable && !w->reading) arm(w, true);
  if (writable && !w->writing) arm(w, false);
}

void DnsResolver::arm(const std::shared_ptr<Watch>& w, bool for_read) {
  (for_read ? w->reading : w->writing) = true;
  auto type = for_read ? asio::posix::stream_descriptor::wait_read : asio::posix::stream_descriptor::wait_write;
  w->descriptor.async_wait(type, [this, w, for_read](const boost::system::error_code& ec) {
    (for_read ? w->reading : w->writing) = false;
    if (ec || !w->alive) return;
    process(for_read ? w->fd : ARES_SOCKET_BAD, for_read ? ARES_SOCKET_BAD : w->fd);
    // c-ares may have closed the socket meanwhile (then alive is false).
    if (w->alive && (for_read ? w->want_read : w->want_write) && !(for_read ? w->reading : w->writing)) arm(w, for_read);
  });
}

void DnsResolver::process(int read_fd, int write_fd) {
  ares_process_fd(channel_, read_fd, write_fd);
  schedule_timeout();
}

void DnsResolver::schedule_timeout() {
  timeval tv{};
  timeval* next = ares_timeout(channel_, nullptr, &tv);
  if (next == nullptr) return;  // nothing pending
  timer_.expires_after(std::chrono::seconds(next->tv_sec) + std::chrono::microseconds(next->tv_usec));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  });
}

}  // namespace portico::net
