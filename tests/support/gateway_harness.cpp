#include "support/gateway_harness.hpp"

#include <boost/asio/post.hpp>
#include <fstream>
#include <future>
#include <stdexcept>
#include <unistd.h>

namespace portico::test {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  std::size_t pos = 0;
  while ((pos = text.find(from, pos)) != std::string::npos) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
  return text;
}

proxy::ProxyOptions GatewayHarness::default_options() {
  proxy::ProxyOptions o;
  o.proxy_listen = {"127.0.0.1:0"};
  o.admin_listen = "127.0.0.1:0";
  o.workers = 1;
  o.access_log = "off";
  o.shutdown_timeout = std::chrono::milliseconds(3000);
  return o;
}

GatewayHarness::GatewayHarness(const std::string& yaml, proxy::ProxyOptions options) {
  char tmpl[] = "/tmp/portico-test-XXXXXX.yml";
  int fd = ::mkstemps(tmpl, 4);
  if (fd < 0) throw std::runtime_error("mkstemps failed");
  ::close(fd);
  path_ = tmpl;
  std::ofstream(path_) << yaml;
  gateway_ = std::make_unique<Gateway>(options, path_, false);
  std::vector<std::string> errors;
  if (!gateway_->start(errors)) {
    std::string all;
    for (const auto& e : errors) all += e + "\n";
    throw std::runtime_error("gateway did not start:\n" + all);
  }
  control_ = std::thread([this] { gateway_->run(); });
}

GatewayHarness::~GatewayHarness() {
  shutdown();
  ::unlink(path_.c_str());
}

void GatewayHarness::shutdown() {
  if (!control_.joinable()) return;
  gateway_->request_shutdown();
  control_.join();
}

std::vector<std::string> GatewayHarness::rewrite_and_reload(const std::string& yaml) {
  std::ofstream(path_, std::ios::trunc) << yaml;
  std::promise<std::vector<std::string>> done;
  auto fut = done.get_future();
  gateway_->post_to_control([&] { done.set_value(gateway_->reload()); });
  return fut.get();
}

}  // namespace portico::test
