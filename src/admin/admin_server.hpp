// The admin listener (Kong's Admin API, default 127.0.0.1:8001), served on the control
// thread: GET / (node information), GET /status (connection and request counters,
// configuration hash), GET /upstreams/{name}/health, GET /plugins/enabled,
// GET /schemas/plugins/{name}, POST /schemas/plugins/validate, GET /endpoints, /config
// (config_endpoint.hpp) and the entity endpoints (entity_api.hpp), in Kong's shapes.
// Request bodies (JSON, forms or multipart, Content-Length framed, at most kMaxBody bytes)
// are read whole before the request is handled. With --admin-token, a request without the
// token in Kong-Admin-Token is answered 401. The dashboard (dashboard.hpp) is served under
// /dashboard/.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>

#include "admin/dashboard.hpp"
#include "admin/entity_api.hpp"
#include "admin/exchange.hpp"
#include "core/deadline.hpp"

namespace portico {
class Gateway;
}

namespace portico::admin {

class AdminServer {
 public:
  // `deadlines` must outlive the io_context's pending sessions (see core/deadline.hpp).
  // `status_only`: Kong's status API (--status-listen): GET /status, /metrics and
  // /status/ready, no token, nothing else.
  AdminServer(boost::asio::io_context& io, DeadlineQueue& deadlines, Gateway& gateway,
              std::shared_ptr<EntityApi> entities, bool status_only = false);
  ~AdminServer();
  bool listen(const boost::asio::ip::tcp::endpoint& endpoint, std::string& error);
  int port() const { return port_; }
  void close();

  // The warning logged at start when the Admin API is reachable from other hosts without a
  // token ("" when it is not).
  static std::string exposure_warning(const boost::asio::ip::address& listen, const std::string& token);

  // Whether a browser sent this write from another site's page (Origin or Sec-Fetch-Site): a form
  // posted to the Admin API needs no CORS preflight, so without this check any web page a user
  // of this machine opens could reconfigure a gateway that has no token. Reads, and clients that
  // are not browsers (no Origin), are not concerned.
  static bool cross_site_write(std::string_view method, std::string_view origin, std::string_view host,
                               std::string_view fetch_site);

  // Whether a browser (it sends Sec-Fetch-Site) reached an Admin API without a token by a host
  // name: a site can point its own name at 127.0.0.1 (DNS rebinding) and then be "same origin".
  // Such requests are refused; an IP address or localhost is answered as usual.
  static bool rebinding_risk(std::string_view host, std::string_view fetch_site, bool token_set);

  static constexpr std::size_t kMaxBody = 10 * 1024 * 1024;  // Kong's client_max_body_size

  using Request = admin::Request;
  using Reply = admin::Reply;
  // The answer to one request (a coroutine: an entity write waits for the store).
  boost::asio::awaitable<Reply> handle(const Request& request);

 private:
  // The fixed paths served before the entity endpoints (/config, /schemas/.../validate,
  // plugins' endpoints, /endpoints); nullopt for any other path.
  std::optional<Reply> handle_fixed(const Request& request);
  // What is not an entity path: /, /status, /metrics, schemas, upstream health; else 404.
  Reply handle_other(const Request& request);
  boost::json::object plugins_json() const;
  Reply validate_plugin(const Request& request) const;
  Reply config_endpoint(const Request& request);
  Reply status_api(const Request& request);
  Reply data_planes(std::string_view query) const;
  boost::asio::awaitable<Reply> cluster_nodes(const Request& request) const;
  Reply status_reply() const;  // GET /status
  static std::string endpoints_json();
  bool token_accepted(std::string_view presented) const;  // --admin-token, or none set
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  DeadlineQueue& deadlines_;
  Gateway& gateway_;
  std::shared_ptr<EntityApi> entities_;
  std::unique_ptr<Dashboard> dashboard_;  // none on the status listener
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  bool status_only_ = false;
};

}  // namespace portico::admin
