// The admin listener (Kong's Admin API, default 127.0.0.1:8001), served on the control
// thread. For now: GET / (node information), GET /status (connection and request
// counters, configuration hash), GET /upstreams/{name}/health, GET /plugins/enabled,
// GET /schemas/plugins/{name} and POST /schemas/plugins/validate, in Kong's shapes.
// Request bodies (JSON or forms, Content-Length framed, at most kMaxBody bytes) are read
// whole before the request is handled. The entity endpoints come with the store.
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

  static constexpr std::size_t kMaxBody = 10 * 1024 * 1024;  // Kong's client_max_body_size

  struct Request {
    std::string_view method, path, query;
    std::string_view content_type;  // of the body, if any
    std::string_view body;
  };
  // Produces the response (status, JSON body) for one request.
  struct Reply {
    int status = 200;
    std::string body;
  };
  Reply handle(const Request& request) const;

 private:
  boost::json::object plugins_json() const;
  Reply validate_plugin(const Request& request) const;
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  DeadlineQueue& deadlines_;
  Gateway& gateway_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
};

}  // namespace portico::admin
