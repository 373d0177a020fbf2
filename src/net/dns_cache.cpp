#include "net/dns_cache.hpp"

#include <algorithm>

namespace portico::net {

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

DnsCache::DnsCache(boost::asio::io_context& io, DnsOptions options, std::string& error)
    : options_(std::move(options)),
      resolver_(io, options_.servers, options_.query_timeout_ms, options_.query_tries, error) {}

const DnsAnswer* DnsCache::lookup(const std::string& host) const {
  auto it = entries_.find(host);
  return it == entries_.end() || !it->second.answered ? nullptr : &it->second.answer;
}

DnsCache::Clock::duration DnsCache::ttl_for(const Entry& e) const {
  if (!e.answer.error.empty()) {
    return std::chrono::seconds(e.answer.addresses.empty() ? options_.not_found_ttl : options_.error_ttl);
  }
  if (options_.valid_ttl > 0) return std::chrono::seconds(options_.valid_ttl);
  return std::chrono::seconds(std::max(1, e.answer.ttl_seconds));
}

void DnsCache::resolve(const std::string& host, std::function<void(bool changed)> done) {
  entries_[host].resolving = true;
  resolver_.resolve(host, [this, host, done = std::move(done)](DnsAnswer answer) {
    Entry& e = entries_[host];
    e.resolving = false;
    bool changed = false;
    if (answer.error.empty()) {
      auto sorted = [](std::vector<boost::asio::ip::address> v) {
        std::sort(v.begin(), v.end());
        return v;
      };
      changed = !e.answered || sorted(e.answer.addresses) != sorted(answer.addresses) || !e.answer.error.empty();
      e.answer = std::move(answer);
    } else if (!e.answered || e.answer.addresses.empty()) {
      changed = !e.answered || e.answer.error != answer.error;
      e.answer = std::move(answer);
    } else {
      e.answer.error = answer.error;  // keep serving the stale addresses
    }
    e.answered = true;
    e.expires = Clock::now() + ttl_for(e);
    done(changed);
  });
}

void DnsCache::ensure(const std::set<std::string>& hosts, std::function<void()> ready) {
  std::vector<std::string> missing;
  for (const auto& h : hosts) {
    if (lookup(h) == nullptr) missing.push_back(h);
  }
  if (missing.empty()) {
    ready();
    return;
  }
  // One query per missing name (a name already being refreshed is simply asked again).
  auto left = std::make_shared<std::size_t>(missing.size());
  auto callback = std::make_shared<std::function<void()>>(std::move(ready));
  for (const auto& h : missing) {
    resolver_.resolve(h, [this, h, left, callback](DnsAnswer answer) {
      Entry& e = entries_[h];
      if (!e.answered) {
        e.answer = std::move(answer);
        e.answered = true;
        e.expires = Clock::now() + ttl_for(e);
      }
      if (--*left == 0) (*callback)();
    });
  }
}

void DnsCache::refresh(const std::set<std::string>& hosts, std::function<void(const std::string& host)> changed) {
  auto now = Clock::now();
  for (const auto& h : hosts) {
    auto it = entries_.find(h);
    if (it == entries_.end() || it->second.resolving || it->second.expires > now) continue;
    resolve(h, [h, changed](bool did_change) {
      if (did_change) changed(h);
    });
  }
}

}  // namespace portico::net
