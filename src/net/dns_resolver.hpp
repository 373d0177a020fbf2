// Asynchronous DNS on an io_context, through c-ares (A records, with their TTLs).
//
// getaddrinfo() blocks and hides TTLs, so Portico asks c-ares instead: its sockets are
// watched by the io_context (no extra thread), and each answer carries the record TTL
// the DNS cache needs to re-resolve names on expiry (as Kong does).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct ares_channeldata;

namespace portico::net {

struct DnsAnswer {
  std::vector<boost::asio::ip::address> addresses;
  int ttl_seconds = 0;  // lowest TTL of the records; 0 when the source has none (hosts file)
  std::string error;    // empty on success
};

class DnsResolver {
 public:
  // `servers`: "ip[:port],..." to query instead of /etc/resolv.conf's (Kong's
  // dns_resolver); empty: the system's configuration. `error` is set on failure.
  DnsResolver(boost::asio::io_context& io, const std::string& servers, int timeout_ms, int tries, std::string& error);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // Looks up IPv4 addresses of `host`; `done` runs on the io_context.
  void resolve(const std::string& host, std::function<void(DnsAnswer)> done);

 private:
  struct Watch;
  static void on_socket_state(void* self, int fd, int readable, int writable);
  void watch(int fd, bool readable, bool writable);
  void arm(const std::shared_ptr<Watch>& w, bool for_read);
  void process(int read_fd, int write_fd);
  void schedule_timeout();

  boost::asio::io_context& io_;
  ares_channeldata* channel_ = nullptr;
  boost::asio::steady_timer timer_;
  std::map<int, std::shared_ptr<Watch>> watches_;
};

}  // namespace portico::net
