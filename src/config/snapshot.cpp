#include "config/snapshot.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <map>

namespace portico::config {
namespace {

std::string host_with_port(const std::string& host, int port) {
  if (port == 80) return host;
  return host + ":" + std::to_string(port);
}

// Resolves with a small cache so a config with many services on one host resolves once.
class Resolver {
 public:
  std::vector<boost::asio::ip::tcp::endpoint> resolve(const std::string& host, int port, std::string& error) {
    auto key = host + ":" + std::to_string(port);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    std::vector<boost::asio::ip::tcp::endpoint> out;
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
    if (!ec) {
      out.emplace_back(address, static_cast<unsigned short>(port));
    } else {
      boost::asio::ip::tcp::resolver resolver(io_);
      auto results = resolver.resolve(host, std::to_string(port), ec);
      if (ec) {
        error = "name resolution failed for '" + host + "': " + ec.message();
      } else {
        // One address per name: the first (IPv4 preferred, as getaddrinfo orders them).
        for (const auto& r : results) {
          out.push_back(r.endpoint());
          break;
        }
      }
    }
    cache_[key] = out;
    return out;
  }

 private:
  boost::asio::io_context io_;
  std::map<std::string, std::vector<boost::asio::ip::tcp::endpoint>> cache_;
};

}  // namespace

std::shared_ptr<const Snapshot> build_snapshot(DeclarativeConfig config, std::uint64_t generation,
                                               std::vector<std::string>& warnings) {
  auto snap = std::make_shared<Snapshot>();
  snap->generation = generation;
  Resolver resolver;
  for (const auto& svc : config.services) {
    ServiceRuntime rt;
    rt.config = svc;
    const UpstreamConfig* upstream = nullptr;
    for (const auto& u : config.upstreams) {
      if (u.name == svc.host) upstream = &u;
    }
    if (upstream != nullptr) {
      for (const auto& t : upstream->targets) {
        if (t.weight == 0) continue;  // drained
        std::string error;
        auto addrs = resolver.resolve(t.host, t.port, error);
        if (!error.empty()) warnings.push_back("upstream '" + upstream->name + "' target '" + t.target + "': " + error);
        for (const auto& a : addrs) {
          Endpoint e;
          e.address = a;
          e.host_header = upstream->host_header.empty() ? host_with_port(t.host, t.port) : upstream->host_header;
          e.pool_key = a.address().to_string() + ":" + std::to_string(a.port());
          e.weight = t.weight;
          rt.endpoints.push_back(std::move(e));
        }
      }
      if (rt.endpoints.empty()) rt.resolve_error = "failure to get a peer from the ring-balancer";
    } else {
      std::string error;
      auto addrs = resolver.resolve(svc.host, svc.port, error);
      if (!error.empty()) {
        warnings.push_back("service '" + svc.name + "': " + error);
        rt.resolve_error = "name resolution failed";
      }
      for (const auto& a : addrs) {
        Endpoint e;
        e.address = a;
        e.host_header = host_with_port(svc.host, svc.port);
        e.pool_key = a.address().to_string() + ":" + std::to_string(a.port());
        rt.endpoints.push_back(std::move(e));
      }
    }
    snap->services.push_back(std::move(rt));
  }
  snap->router = std::make_unique<router::Router>(config);
  snap->config = std::move(config);
  return snap;
}

}  // namespace portico::config
