// The control thread's DNS cache: answers for upstream target and service host names,
// re-resolved when their TTL expires (Kong's DNS behaviour).
//
// - A record's TTL decides when it is asked again; `valid_ttl` (Kong's dns_valid_ttl)
//   overrides it; answers without a TTL (hosts file) are checked every second.
// - A failed re-resolution keeps the last good addresses (stale beats empty) and is
//   retried after `error_ttl`; a name that never resolved is retried after `not_found_ttl`.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "net/dns_resolver.hpp"

namespace portico::net {

struct DnsOptions {
  std::string servers;     // "ip[:port],..."; empty: /etc/resolv.conf
  int valid_ttl = 0;       // seconds; 0: the record's TTL
  int error_ttl = 1;       // seconds before retrying after a failure with a stale answer
  int not_found_ttl = 30;  // seconds before retrying a name that never resolved
  int query_timeout_ms = 2000;  // per try and server (c-ares doubles it on each retry)
  int query_tries = 2;
};

class DnsCache {
 public:
  using Clock = std::chrono::steady_clock;
  DnsCache(boost::asio::io_context& io, DnsOptions options, std::string& error);

  // Resolves the names of `hosts` that have no answer yet; `ready` runs once all have
  // one (at once, inline, when none was missing).
  void ensure(const std::set<std::string>& hosts, std::function<void()> ready);
  // The last answer for `host`, or nullptr when it was never asked.
  const DnsAnswer* lookup(const std::string& host) const;
  // Re-resolves the names of `hosts` whose TTL expired; `changed` runs when an answer
  // brought different addresses.
  void refresh(const std::set<std::string>& hosts, std::function<void(const std::string& host)> changed);

 private:
  struct Entry {
    DnsAnswer answer;
    bool answered = false;
    bool resolving = false;
    Clock::time_point expires{};
  };
  void resolve(const std::string& host, std::function<void(bool changed)> done);
  Clock::duration ttl_for(const Entry& e) const;

  DnsOptions options_;
  DnsResolver resolver_;
  std::map<std::string, Entry> entries_;
};

// True for IPv4/IPv6 literals (which are never looked up).
bool is_ip_literal(const std::string& host);

}  // namespace portico::net
