// Runs a real Gateway in-process (its own control thread) on 127.0.0.1:0 with a
// configuration written to a temporary file.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "core/gateway.hpp"

namespace portico::test {

class GatewayHarness {
 public:
  // `yaml` is the declarative config; options.proxy_listen/admin_listen are overridden
  // with port 0 on loopback unless `keep_listen` is set.
  explicit GatewayHarness(const std::string& yaml, proxy::ProxyOptions options = default_options());
  ~GatewayHarness();

  int port() const { return gateway_->proxy_ports().at(0); }
  int admin_port() const { return gateway_->admin_port(); }
  Gateway& gateway() { return *gateway_; }
  // Rewrites the config file and reloads (on the control thread); returns the errors.
  std::vector<std::string> rewrite_and_reload(const std::string& yaml);
  void shutdown();

  static proxy::ProxyOptions default_options();

 private:
  std::string path_;
  std::unique_ptr<Gateway> gateway_;
  std::thread control_;
};

// Replaces every "{port}" / "{port2}" ... marker: helper for building configs.
std::string replace_all(std::string text, const std::string& from, const std::string& to);

}  // namespace portico::test
