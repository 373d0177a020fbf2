// The dashboard (docs/dashboard.md): a browser front end served by the admin listener under
// /dashboard/, reading the Admin API like any client, plus the JSON only it needs under
// /dashboard/api/ (traffic over the last 15 minutes, gateway identity).
//
// Its files are public (they hold no data; the browser cannot send the admin token with a page
// load); everything under /dashboard/api/ needs the token like the rest of the Admin API. Pages
// carry a Content-Security-Policy that allows scripts, styles and connections to this origin
// only: no inline script runs, nothing is fetched from elsewhere.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>

#include "admin/exchange.hpp"
#include "admin/traffic_history.hpp"

namespace portico {
class Gateway;
}

namespace portico::admin {

class Dashboard {
 public:
  Dashboard(boost::asio::io_context& io, Gateway& gateway);
  ~Dashboard();
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  // Turns the proxy's per-route recording on and samples it once a second.
  void start();

  // Whether the path is one of the dashboard's files (served without the admin token).
  static bool is_public(std::string_view method, std::string_view path);
  // The answer for a path under /dashboard, nullopt for any other path.
  std::optional<Reply> handle(const Request& request);

  // Samples now (the timer's work; tests call it with their own times).
  void sample(std::int64_t unix_second);
  const TrafficHistory& history() const { return history_; }

 private:
  Reply asset(const Request& request) const;
  Reply api(const Request& request) const;
  boost::json::object info() const;

  boost::asio::io_context& io_;
  Gateway& gateway_;
  TrafficHistory history_;
  std::shared_ptr<boost::asio::steady_timer> timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // the sampling loop ends when false
};

}  // namespace portico::admin
