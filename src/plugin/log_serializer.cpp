#include "plugin/log_serializer.hpp"

#include <boost/json.hpp>

#include <chrono>

#include "config/export.hpp"
#include "http/h1_parser.hpp"
#include "http/params.hpp"
#include "plugin/request_context.hpp"
#include "plugin/request_json.hpp"
#include "router/router.hpp"

namespace portico::plugin {
namespace json = boost::json;
namespace {

std::int64_t unix_ms(std::chrono::steady_clock::time_point when) {
  auto system = std::chrono::system_clock::now() - (std::chrono::steady_clock::now() - when);
  return std::chrono::duration_cast<std::chrono::milliseconds>(system.time_since_epoch()).count();
}

json::object try_json(const obs::UpstreamTry& t, bool last) {
  std::string_view address = t.address;
  auto colon = address.rfind(':');
  std::string_view ip = address.substr(0, colon);
  if (ip.size() >= 2 && ip.front() == '[') ip = ip.substr(1, ip.size() - 2);
  int port = colon == std::string_view::npos ? 0 : std::atoi(std::string(address.substr(colon + 1)).c_str());
  json::object o{{"ip", ip}, {"port", port}, {"balancer_latency", 0},
                 {"balancer_start", t.start == std::chrono::steady_clock::time_point{} ? 0 : unix_ms(t.start)}};
  if (!last) {  // Kong marks the tries that were not the answer
    bool failed = t.connect_time < 0 || t.header_time < 0;
    o["state"] = failed ? "failed" : "next";
    o["code"] = t.status;
  }
  return o;
}

}  // namespace

LogSerializer::LogSerializer(const config::DeclarativeConfig& config) : config_(config) {
  for (const auto& r : config.routes) routes_.push_back(json::serialize(config::without_nulls(config::route_json(r, config))));
  for (const auto& s : config.services) services_.push_back(json::serialize(config::without_nulls(config::service_json(s))));
  for (const auto& c : config.consumers) consumers_.push_back(json::serialize(config::without_nulls(config::consumer_json(c))));
}

std::string LogSerializer::serialize(const RequestContext& ctx) const {
  const http::RequestHead& req = ctx.request();
  const auto& served = ctx.served;
  std::string host(http::host_without_port(req.host));
  json::object request{
      {"id", ctx.request_id()},
      {"uri", req.target},
      {"url", std::string(ctx.scheme()) + "://" + std::string(req.host.empty() ? std::string_view("localhost") : req.host) +
                  std::string(req.target)},
      {"querystring", args_json(req.query)},
      {"method", req.method},
      {"headers", headers_json(req)},
      {"size", served.bytes_received},
  };
  json::object response_headers;
  http::ResponseHead head;
  if (!served.response_head.empty() &&
      http::parse_response_head(served.response_head, http::ParserLimits{}, false, head).state ==
          http::ParseState::complete) {
    response_headers = headers_json(head);
  }
  json::array tries;
  std::string upstream_status;
  auto add_try = [&](const obs::UpstreamTry& t, bool last) {
    tries.push_back(try_json(t, last));
    if (!upstream_status.empty()) upstream_status += ", ";
    upstream_status += t.status == 0 ? "-" : std::to_string(t.status);
  };
  for (const auto& t : served.earlier_tries) add_try(t, false);
  if (!served.last_try.address.empty()) add_try(served.last_try, true);
  auto whole_ms = [](double ms) { return ms < 0 ? std::int64_t{-1} : static_cast<std::int64_t>(ms + 0.5); };
  json::object record{
      {"request", std::move(request)},
      {"upstream_uri", served.upstream_uri},
      {"upstream_status", upstream_status},
      {"response", json::object{{"status", ctx.status}, {"headers", std::move(response_headers)}, {"size", served.bytes_sent}}},
      {"latencies", json::object{{"kong", whole_ms(served.gateway_ms)}, {"proxy", whole_ms(served.upstream_ms)},
                                 {"request", whole_ms(served.request_ms)}, {"receive", 0}}},
      {"client_ip", ctx.client_ip()},
      {"started_at", unix_ms(served.started)},
      {"source", served.from_service ? "upstream" : "kong"},
      {"workspace_name", "default"},
  };
  if (!tries.empty()) record["tries"] = std::move(tries);
  const config::ConsumerConfig* consumer = ctx.consumer();
  if (consumer != nullptr && ctx.has_credential()) {
    record["authenticated_entity"] = json::object{{"consumer_id", consumer->id}};
  }
  std::string out = json::serialize(record);
  // The entities, written when the instance was built, spliced in before the closing brace.
  out.pop_back();
  if (const auto* route = ctx.route(); route != nullptr && route->route_index < routes_.size()) {
    out.append(",\"route\":").append(routes_[route->route_index]);
    if (route->service_index < services_.size()) out.append(",\"service\":").append(services_[route->service_index]);
  }
  if (consumer != nullptr && !config_.consumers.empty()) {
    auto index = static_cast<std::size_t>(consumer - config_.consumers.data());
    if (index < consumers_.size()) out.append(",\"consumer\":").append(consumers_[index]);
  }
  out += '}';
  return out;
}

}  // namespace portico::plugin
