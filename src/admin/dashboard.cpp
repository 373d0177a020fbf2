#include "admin/dashboard.hpp"
#include "core/system_info.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>

#include "admin/dashboard_assets.hpp"
#include "cluster/control_plane.hpp"
#include "core/gateway.hpp"
#include "http/params.hpp"
#include "obs/counter_family.hpp"
#include "obs/route_traffic.hpp"
#include "proxy/io.hpp"

namespace portico::admin {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::string_view kPrefix = "/dashboard", kApi = "/dashboard/api/";

// Scripts, styles, images and connections from this origin only; no inline script or style
// element (uPlot styles its elements through the CSSOM, which the policy does not govern), no
// framing, no form posted elsewhere.
constexpr std::string_view kPageHeaders =
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: no-referrer\r\n";

std::string_view content_type_of(std::string_view path) {
  if (path.ends_with(".html")) return "text/html; charset=utf-8";
  if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (path.ends_with(".css")) return "text/css; charset=utf-8";
  if (path.ends_with(".svg")) return "image/svg+xml";
  if (path.ends_with(".png")) return "image/png";
  return "application/octet-stream";
}

const dashboard_assets::Asset* find_asset(std::string_view name) {
  for (const auto& a : dashboard_assets::all()) {
    if (a.path == name) return &a;
  }
  return nullptr;
}

Reply not_found() { return {404, R"({"message":"Not found"})"}; }

// The loop behind the once-a-second sample, aligned on the wall clock's seconds so that points
// are whole seconds. It holds the timer and a flag the dashboard clears when it goes, never the
// dashboard itself: a wait that completed just before the dashboard went ends the loop too.
asio::awaitable<void> sample_every_second(std::shared_ptr<asio::steady_timer> timer, std::shared_ptr<bool> alive,
                                          Dashboard* dashboard) {
  for (;;) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    auto next = std::chrono::duration_cast<std::chrono::seconds>(now) + std::chrono::seconds(1);
    timer->expires_after(next - now + std::chrono::milliseconds(2));
    auto [ec] = co_await timer->async_wait(proxy::use_tuple);
    if (ec || !*alive) co_return;
    dashboard->sample(std::chrono::duration_cast<std::chrono::seconds>(next).count());
  }
}

}  // namespace

Dashboard::Dashboard(asio::io_context& io, Gateway& gateway) : io_(io), gateway_(gateway) {}

Dashboard::~Dashboard() {
  *alive_ = false;
  if (timer_) timer_->cancel();
}

void Dashboard::start() {
  obs::route_traffic::enable();
  timer_ = std::make_shared<asio::steady_timer>(io_);
  asio::co_spawn(io_, sample_every_second(timer_, alive_, this), asio::detached);
}

void Dashboard::sample(std::int64_t unix_second) {
  history_.sample(unix_second, obs::route_traffic::collect(), gateway_.totals().connections_active);
}

namespace {
// /dashboard and everything under /dashboard/ (not /dashboards).
bool is_dashboard_path(std::string_view path) {
  return path.starts_with(kPrefix) && (path.size() == kPrefix.size() || path[kPrefix.size()] == '/');
}
}  // namespace

bool Dashboard::is_public(std::string_view method, std::string_view path) {
  // Every public path is answered by the dashboard itself (a file or 404), never passed on to
  // the rest of the Admin API, which needs the token.
  return (method == "GET" || method == "HEAD") && is_dashboard_path(path) && !path.starts_with(kApi);
}

std::optional<Reply> Dashboard::handle(const Request& request) {
  std::string_view path = request.path;
  if (!is_dashboard_path(path)) return std::nullopt;
  if (request.method != "GET" && request.method != "HEAD") return Reply{405, R"({"message":"Method not allowed"})"};
  if (path.starts_with(kApi)) return api(request);
  return asset(request);
}

Reply Dashboard::asset(const Request& request) const {
  std::string_view name = request.path.substr(kPrefix.size());
  if (name.empty()) return Reply{301, R"({"message":"Moved Permanently"})", "", "Location: /dashboard/\r\n"};
  name.remove_prefix(1);
  if (name.empty()) name = "index.html";
  const auto* found = find_asset(name);
  if (found == nullptr) return not_found();
  std::string headers(kPageHeaders);
  headers += "Cache-Control: no-cache\r\nETag: ";
  headers.append(found->etag);
  headers += "\r\n";
  if (!request.if_none_match.empty() && request.if_none_match == found->etag) {
    return Reply{304, "", std::string(content_type_of(name)), std::move(headers)};
  }
  return Reply{200, std::string(found->body), std::string(content_type_of(name)), std::move(headers)};
}

Reply Dashboard::api(const Request& request) const {
  std::string_view what = request.path.substr(kApi.size());
  if (what == "info") return Reply{200, json::serialize(info())};
  if (what == "top") return Reply{200, json::serialize(history_.top())};
  if (what == "counters") return Reply{200, json::serialize(obs::CounterFamily::json_all())};
  if (what == "traffic") {
    std::string scope, seconds_text;
    http::percent_decode(http::query_value(request.query, "scope"), scope);
    http::percent_decode(http::query_value(request.query, "seconds"), seconds_text);
    std::int64_t seconds = TrafficHistory::kSeconds;
    if (!seconds_text.empty()) {
      char* end = nullptr;
      seconds = std::strtoll(seconds_text.c_str(), &end, 10);
      if (end != seconds_text.c_str() + seconds_text.size() || seconds < 1 || seconds > TrafficHistory::kSeconds) {
        return Reply{400, R"({"message":"seconds must be an integer between 1 and 900"})"};
      }
    }
    auto series = history_.series(scope, seconds);
    if (!series && !scope.empty()) {
      return Reply{404, json::serialize(json::object{{"message", "no traffic recorded for '" + scope + "'"}})};
    }
    if (!series) series = json::object{{"scope", ""}, {"end", history_.last_second()}, {"step", 1}, {"time", json::array{}}};
    return Reply{200, json::serialize(*series)};
  }
  return not_found();
}

json::object Dashboard::info() const {
  const auto& snap = gateway_.snapshot();
  std::string kind = gateway_.database_kind();
  json::value read_only = nullptr;
  if (kind == "off") {
    read_only = "Portico runs from a declarative file (-c " + gateway_.config_path() +
                "): entities cannot be changed through the Admin API. Edit the file and reload (SIGHUP), or POST a "
                "whole configuration to /config.";
  }
  json::object out{
      {"version", PORTICO_VERSION},
      {"node_id", gateway_.node_id()},
      {"hostname", host_name()},
      {"configuration_hash", snap ? snap->config.hash : std::string()},
      {"configuration_activated_at", gateway_.last_activation_unix()},
      {"database", json::object{{"strategy", kind},
                                {"reachable", gateway_.database_reachable()},
                                {"revision", kind == "off" ? json::value(nullptr) : json::value(gateway_.store_revision())}}},
      {"read_only", read_only},
      {"workers", gateway_.options().workers},
      {"connections_active", gateway_.totals().connections_active},
      {"points_dropped", history_.points_dropped()},
      {"requests_not_recorded", obs::route_traffic::overflows()},
  };
  if (const auto* cp = gateway_.control_plane()) {
    out["cluster"] = json::object{{"role", "control_plane"}, {"data_planes_connected", cp->connected()}};
  }
  return out;
}

}  // namespace portico::admin
