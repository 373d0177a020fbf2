// The admin listener (Kong's Admin API, default 127.0.0.1:8001), served on the control
// thread. For now: GET / (node information), GET /status (connection and request
// counters, configuration hash) and GET /upstreams/{name}/health, in Kong's shapes. The
// full Admin API comes later.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/object.hpp>
#include <string>

#include "core/deadline.hpp"

namespace portico {
class Gateway;
}

namespace portico::admin {

class AdminServer {
 public:
  // `deadlines` must outlive the io_context's pending sessions (see core/deadline.hpp).
  AdminServer(boost::asio::io_context& io, DeadlineQueue& deadlines, Gateway& gateway);
  ~AdminServer();
  bool listen(const boost::asio::ip::tcp::endpoint& endpoint, std::string& error);
  int port() const { return port_; }
  void close();

  // Produces the response (status, JSON body) for one request. Exposed for tests.
  struct Reply {
    int status = 200;
    std::string body;
  };
  Reply handle(std::string_view method, std::string_view path, std::string_view query = {}) const;

 private:
  boost::json::object plugins_json() const;
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  DeadlineQueue& deadlines_;
  Gateway& gateway_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
};

}  // namespace portico::admin
