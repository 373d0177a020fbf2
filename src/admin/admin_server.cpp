#include "admin/admin_server.hpp"
#include "core/system_info.hpp"

#include <set>

#include "plugin/counters.hpp"
#include "plugin/registry.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "admin/body_readers.hpp"
#include "admin/config_endpoint.hpp"
#include "admin/plugin_endpoints.hpp"
#include "cluster/control_plane.hpp"
#include "cluster/data_plane.hpp"
#include "admin/kong_errors.hpp"
#include "admin/schema_endpoints.hpp"
#include "plugin/config_schema.hpp"
#include "admin/upstream_health.hpp"
#include "core/byte_buffer.hpp"
#include "core/deadline.hpp"
#include "core/gateway.hpp"
#include "http/h1_parser.hpp"
#include "http/params.hpp"
#include <charconv>
#include "admin/metrics_endpoint.hpp"
#include "http/status.hpp"
#include "proxy/io.hpp"

namespace portico::admin {

namespace asio = boost::asio;
namespace json = boost::json;

AdminServer::AdminServer(asio::io_context& io, DeadlineQueue& deadlines, Gateway& gateway,
                         std::shared_ptr<EntityApi> entities, bool status_only)
    : io_(io), deadlines_(deadlines), gateway_(gateway), entities_(std::move(entities)),
      dashboard_(status_only ? nullptr : std::make_unique<Dashboard>(io, gateway)), acceptor_(io),
      status_only_(status_only) {}
AdminServer::~AdminServer() { close(); }

bool AdminServer::listen(const asio::ip::tcp::endpoint& endpoint, std::string& error) {
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(128, ec);
  if (ec) {
    error = "cannot listen on " + endpoint.address().to_string() + ":" + std::to_string(endpoint.port()) + ": " + ec.message();
    return false;
  }
  port_ = acceptor_.local_endpoint().port();
  if (dashboard_) dashboard_->start();
  asio::co_spawn(io_, accept_loop(), asio::detached);
  return true;
}

void AdminServer::close() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> AdminServer::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(proxy::use_tuple);
    if (ec) {
      if (!acceptor_.is_open()) co_return;
      continue;
    }
    asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
  }
}

json::object AdminServer::plugins_json() const {
  // The plugins this build has, and those the configuration uses (Kong's GET / shape).
  json::object available;
  for (const auto* schema : plugin::all_schemas()) {
    available.emplace(schema->name, json::object{{"version", PORTICO_VERSION}, {"priority", schema->priority}});
  }
  std::set<std::string_view> in_use;
  if (const auto& snap = gateway_.snapshot()) {
    for (const auto& e : snap->config.plugins) {
      if (e.enabled) in_use.insert(e.name);
    }
  }
  json::array enabled;
  for (auto name : in_use) enabled.emplace_back(name);
  return json::object{{"available_on_server", available}, {"enabled_in_cluster", enabled}};
}

namespace {

std::string message_json(std::string_view message) { return json::serialize(json::object{{"message", message}}); }

// The plugin entity's own fields (its `config` is read by the plugin's schema).
struct PluginEntity {
  std::string name;
  bool enabled = true;
  std::vector<std::string> tags;
  std::vector<std::string> protocols{"grpc", "grpcs", "http", "https"};
  std::string instance_name;
};

const schema::Record<PluginEntity>& plugin_entity() {
  using P = PluginEntity;
  static const schema::Record<P> record = [] {
    schema::Record<P> r;
    r.field("name", &P::name, {.required = true})
        .field("enabled", &P::enabled)
        .field("tags", &P::tags)
        .field("protocols", &P::protocols, {.one_of = {"grpc", "grpcs", "http", "https", "ws", "wss"}})
        .field("instance_name", &P::instance_name, {.nullable = true});
    for (const char* ref : {"id", "service", "route", "consumer", "created_at", "updated_at", "ordering"}) {
      r.accepted(ref, json::object{});
    }
    return r;
  }();
  return record;
}

}  // namespace

AdminServer::Reply AdminServer::config_endpoint(const Request& request) {
  const auto& snap = gateway_.snapshot();
  if (request.method == "GET" || request.method == "HEAD") {
    if (!snap) return {503, R"({"message":"no configuration yet"})"};
    return get_config(snap->config);
  }
  if (request.method != "POST") return {405, R"({"message":"Method not allowed"})"};
  if (entities_ && entities_->has_store()) {
    return {400, R"({"message":"this endpoint is only available when Portico is configured to not use a database (-c FILE); use portico config db_import, or the entity endpoints"})"};
  }
  return post_config(request, snap ? snap->config.hash : "", [this](config::DeclarativeConfig c) {
    gateway_.stage(std::move(c), "POST /config");
  });
}

// GET /endpoints: the paths this Admin API serves, in Kong's shape.
std::string AdminServer::endpoints_json() {
  static const char* kPaths[] = {
      "/", "/status", "/metrics", "/config", "/endpoints", "/plugins/enabled", "/schemas/{db_entity_name}",
      "/schemas/{db_entity_name}/validate", "/schemas/plugins/{name}",
      "/schemas/plugins/validate", "/services", "/services/{services}", "/services/{services}/routes",
      "/services/{services}/routes/{routes}", "/services/{services}/plugins", "/services/{services}/plugins/{plugins}",
      "/routes", "/routes/{routes}", "/routes/{routes}/plugins", "/routes/{routes}/plugins/{plugins}", "/plugins",
      "/plugins/{plugins}", "/consumers", "/consumers/{consumers}", "/consumers/{consumers}/plugins",
      "/consumers/{consumers}/plugins/{plugins}", "/consumers/{consumers}/key-auth",
      "/consumers/{consumers}/key-auth/{keyauth_credentials}", "/consumers/{consumers}/jwt",
      "/consumers/{consumers}/jwt/{jwt_secrets}", "/consumers/{consumers}/acls", "/consumers/{consumers}/acls/{acls}",
      "/consumers/{consumers}/basic-auth", "/consumers/{consumers}/basic-auth/{basicauth_credentials}", "/key-auths",
      "/key-auths/{keyauth_credentials}", "/jwts", "/jwts/{jwt_secrets}", "/acls", "/acls/{acls}", "/basic-auths",
      "/basic-auths/{basicauth_credentials}", "/upstreams", "/upstreams/{upstreams}", "/upstreams/{upstreams}/health",
      "/upstreams/{upstreams}/targets", "/upstreams/{upstreams}/targets/{targets}", "/certificates",
      "/certificates/{certificates}", "/certificates/{certificates}/snis", "/certificates/{certificates}/snis/{snis}",
      "/snis", "/snis/{snis}", "/ca_certificates", "/ca_certificates/{ca_certificates}", "/clustering/data-planes",
      "/clustering/nodes", "/dashboard", "/dashboard/api/info", "/dashboard/api/top", "/dashboard/api/traffic",
      "/dashboard/api/counters",
  };
  json::array data;
  for (const char* p : kPaths) data.emplace_back(p);
  for (const plugin::Schema* schema : plugin::all_schemas()) {
    for (const auto& endpoint : schema->admin_endpoints) data.emplace_back(endpoint.path);
  }
  return json::serialize(json::object{{"data", data}});
}

// POST /schemas/plugins/validate: the body is a plugin entity; answers whether it is valid,
// with Kong's schema violation body when not. Nothing is stored.
AdminServer::Reply AdminServer::validate_plugin(const Request& request) const {
  RequestBody body = read_request_body(request.content_type, request.body);
  if (!body.value.ok()) return {body.status, message_json(body.value.error().message)};
  json::object entity = body.value->as_object();
  json::value config = nullptr;
  if (auto* c = entity.if_contains("config")) {
    config = *c;
    entity.erase("config");
  }
  schema::Errors errors;
  PluginEntity fields;
  plugin_entity().read(entity, fields, errors, body.input);
  if (!fields.name.empty()) {
    const plugin::Schema* schema = plugin::find_schema(fields.name);
    if (schema == nullptr) {
      errors.push_back({"name", "plugin '" + fields.name + "' not enabled; add it to the 'plugins' configuration property"});
    } else {
      schema->config->read(config, errors, body.input, "config");
    }
  }
  if (!errors.empty()) return {400, json::serialize(schema_violation(errors))};
  return {200, message_json("schema validation successful")};
}

// GET /clustering/data-planes (Kong's): a control plane's data planes, `size` per page.
AdminServer::Reply AdminServer::data_planes(std::string_view query) const {
  const auto* cp = gateway_.control_plane();
  if (cp == nullptr) {
    return {400, message_json("this endpoint is only available when Portico is configured to run as Control Plane for "
                              "the cluster")};
  }
  std::size_t size = 100;
  std::string size_text(http::query_value(query, "size"));
  if (!size_text.empty()) {
    auto parsed = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
    if (parsed.ec != std::errc{} || size < 1 || size > 1000) return {400, message_json("size must be between 1 and 1000")};
  }
  return {200, json::serialize(cp->data_planes_json(size, std::string(http::query_value(query, "offset"))))};
}

// GET /clustering/nodes (Portico's): the nodes sharing this PostgreSQL database, from their
// heartbeats (store/pg_store.hpp), seen in the last day.
asio::awaitable<AdminServer::Reply> AdminServer::cluster_nodes(const Request& request) const {
  if (request.method != "GET" && request.method != "HEAD") co_return Reply{405, R"({"message":"Method not allowed"})"};
  store::PgStore* pg = gateway_.pg_store();
  if (pg == nullptr) {
    co_return Reply{400, message_json("this endpoint is only available when nodes share a PostgreSQL database "
                                      "(--database postgres://...)")};
  }
  auto nodes = co_await pg->nodes(24 * 3600);
  if (!nodes.ok()) co_return Reply{503, message_json("cannot list the nodes: " + nodes.error().message)};
  json::array data;
  for (const auto& n : *nodes) {
    data.emplace_back(json::object{{"node_id", n.node_id},
                                   {"hostname", n.hostname},
                                   {"version", n.version},
                                   {"config_hash", n.config_hash},
                                   {"revision", n.revision},
                                   {"last_seen", n.last_seen},
                                   {"this_node", n.node_id == gateway_.node_id()}});
  }
  co_return Reply{200, json::serialize(json::object{{"data", std::move(data)}})};
}

AdminServer::Reply AdminServer::status_reply() const {
  auto t = gateway_.totals();
  json::object server{
      {"connections_accepted", t.connections_accepted}, {"connections_active", t.connections_active},
      {"connections_handled", t.connections_handled},   {"connections_reading", t.connections_reading},
      {"connections_writing", t.connections_writing},   {"connections_waiting", t.connections_waiting},
      {"total_requests", t.total_requests},
  };
  json::object portico{
      {"connections_refused", t.connections_refused}, {"connections_parked", t.connections_parked},
      {"responses_4xx", t.responses_4xx},
      {"responses_5xx", t.responses_5xx},             {"bad_requests", t.bad_requests},
      {"tls_handshake_failures", t.tls_handshake_failures},
      {"http2_connections", t.http2_connections},
      {"http2_abuse_closed", t.http2_abuse_closed},
      {"upstream_connects", t.upstream_connects},     {"upstream_reused", t.upstream_reused},
      {"upstream_retries", t.upstream_retries},       {"upstream_connect_failures", t.upstream_connect_failures},
      {"upstream_timeouts", t.upstream_timeouts},     {"upstream_invalid_responses", t.upstream_invalid_responses},
      {"retry_budget_exhausted", t.retry_budget_exhausted},  {"upstream_overflows", t.upstream_overflows},
      {"health_transitions", proxy::TargetHealth::transitions_total()},
  };
  for (const auto& [name, value] : plugin::counter_values()) portico[name] = value;
  const auto& snap = gateway_.snapshot();
  json::object database{{"reachable", gateway_.database_reachable()}, {"strategy", gateway_.database_kind()}};
  if (gateway_.database_kind() != "off") database["revision"] = gateway_.store_revision();
  json::object body{
      {"database", database},
      {"node_id", gateway_.node_id()},
      {"hostname", host_name()},
      {"server", server},
      {"configuration_hash", snap ? snap->config.hash : std::string("00000000000000000000000000000000")},
      {"portico", portico},
  };
  if (const auto* dp = gateway_.data_plane()) body["cluster"] = dp->status_json();
  if (const auto* cp = gateway_.control_plane()) {
    body["cluster"] = json::object{{"role", "control_plane"}, {"data_planes_connected", cp->connected()}};
  }
  return {200, json::serialize(body)};
}

AdminServer::Reply AdminServer::status_api(const Request& request) {
  if (request.path != "/status" && request.path != "/metrics" && request.path != "/status/ready") {
    return {404, R"({"message":"Not found"})"};
  }
  if (request.method != "GET" && request.method != "HEAD") return {405, R"({"message":"Method not allowed"})"};
  if (request.path == "/status/ready") {
    // Kong's readiness probe: ready once a configuration serves.
    if (!gateway_.ready()) return {503, R"({"message":"no configuration available"})"};
    return {200, R"({"message":"ready"})"};
  }
  if (request.path == "/metrics") return {200, metrics_exposition(gateway_), kMetricsContentType};
  return status_reply();
}

asio::awaitable<AdminServer::Reply> AdminServer::handle(const Request& request) {
  if (status_only_) co_return status_api(request);
  if (auto reply = dashboard_->handle(request)) co_return std::move(*reply);
  if (request.path == "/clustering/nodes") co_return co_await cluster_nodes(request);
  if (auto reply = handle_fixed(request)) co_return std::move(*reply);
  auto plugin_reply = co_await plugin_endpoint(request, gateway_.snapshot());
  if (plugin_reply) co_return std::move(*plugin_reply);
  if (entities_ && request.path != "/plugins/enabled") {  // a fixed path, not the plugin named "enabled"
    auto reply = co_await entities_->handle(request);
    if (reply) co_return std::move(*reply);
  }
  co_return handle_other(request);
}

std::optional<AdminServer::Reply> AdminServer::handle_fixed(const Request& request) {
  std::string_view method = request.method, path = request.path;
  if (path == "/schemas/plugins/validate") {
    if (method != "POST") return Reply{405, R"({"message":"Method not allowed"})"};
    return validate_plugin(request);
  }
  constexpr std::string_view kSchemas = "/schemas/", kValidate = "/validate";
  if (path.starts_with(kSchemas) && path.ends_with(kValidate) && !path.starts_with("/schemas/plugins/")) {
    if (method != "POST") return Reply{405, R"({"message":"Method not allowed"})"};
    RequestBody body = read_request_body(request.content_type, request.body);
    if (!body.value.ok()) return Reply{body.status, message_json(body.value.error().message)};
    auto entity = path.substr(kSchemas.size(), path.size() - kSchemas.size() - kValidate.size());
    if (auto answer = validate_entity(entity, *body.value, body.input)) return Reply{answer->first, std::move(answer->second)};
    return Reply{404, R"({"message":"Not found"})"};
  }
  if (path == "/config") return config_endpoint(request);
  if (path == "/endpoints") {
    if (method != "GET" && method != "HEAD") return Reply{405, R"({"message":"Method not allowed"})"};
    return Reply{200, endpoints_json()};
  }
  return std::nullopt;
}

AdminServer::Reply AdminServer::handle_other(const Request& request) {
  std::string_view method = request.method, path = request.path, query = request.query;
  constexpr std::string_view kSchemas = "/schemas/";
  if (method != "GET" && method != "HEAD") {
    return {405, R"({"message":"Method not allowed"})"};
  }
  const auto& options = gateway_.options();
  if (path == "/clustering/data-planes") return data_planes(query);
  if (path == "/") {
    json::array proxy_listen;
    for (const auto& l : options.proxy_listen) proxy_listen.emplace_back(l);
    json::object configuration{
        {"proxy_listen", proxy_listen},
        {"admin_listen", json::array{json::value(options.admin_listen)}},
        {"nginx_worker_processes", options.workers},
        {"database", gateway_.database_kind()},
        {"declarative_config", gateway_.config_path().empty() ? json::value(nullptr) : json::value(gateway_.config_path())},
        {"prefix", gateway_.config_path().empty() ? json::value(gateway_.data_dir()) : json::value(nullptr)},
        {"router_flavor", "traditional_compatible"},
    };
    json::object body{
        {"version", PORTICO_VERSION},
        {"tagline", "Welcome to portico"},
        {"hostname", host_name()},
        {"node_id", gateway_.node_id()},
        {"configuration", configuration},
        {"plugins", plugins_json()},
    };
    return {200, json::serialize(body)};
  }
  if (path == "/metrics") return {200, metrics_exposition(gateway_), kMetricsContentType};
  if (path == "/status") return status_reply();
  if (path == "/plugins/enabled") return {200, enabled_plugins_json()};
  if (path.starts_with(kSchemas) && !path.starts_with("/schemas/plugins/")) {
    if (auto described = entity_schema_json(path.substr(kSchemas.size()))) return {200, std::move(*described)};
    return {404, json::serialize(json::object{{"message", "No entity named '" + std::string(path.substr(kSchemas.size())) + "'"}})};
  }
  constexpr std::string_view kPluginSchemas = "/schemas/plugins/";
  if (path.starts_with(kPluginSchemas)) {
    std::string name(path.substr(kPluginSchemas.size()));
    const plugin::Schema* schema = plugin::find_schema(name);
    if (schema == nullptr) return {404, json::serialize(json::object{{"message", "No plugin named '" + name + "'"}})};
    return {200, plugin_schema_json(*schema)};
  }
  constexpr std::string_view kUpstreams = "/upstreams/", kHealth = "/health";
  if (path.starts_with(kUpstreams) && path.ends_with(kHealth) && path.size() > kUpstreams.size() + kHealth.size()) {
    std::string_view name = path.substr(kUpstreams.size(), path.size() - kUpstreams.size() - kHealth.size());
    const auto& snap = gateway_.snapshot();
    const config::UpstreamRuntime* upstream = snap ? snap->find_upstream(name) : nullptr;
    if (upstream == nullptr) return {404, R"({"message":"Not found"})"};
    bool balancer_health = http::query_value(query, "balancer_health") == "1" ||
                           http::query_value(query, "balancer_health") == "true";
    return {200, upstream_health_json(*upstream, *snap, gateway_.node_id(), balancer_health)};
  }
  return {404, R"({"message":"Not found"})"};
}

std::string AdminServer::exposure_warning(const asio::ip::address& listen, const std::string& token) {
  if (listen.is_loopback() || !token.empty()) return "";
  return "!!! The Admin API listens on " + listen.to_string() +
         " without --admin-token: anyone who can reach it can reconfigure this gateway. Set --admin-token "
         "(PORTICO_ADMIN_TOKEN), or listen on 127.0.0.1 !!!";
}

bool AdminServer::cross_site_write(std::string_view method, std::string_view origin, std::string_view host,
                                   std::string_view fetch_site) {
  if (method == "GET" || method == "HEAD" || method == "OPTIONS") return false;
  // Sec-Fetch-Site is set by the browser and cannot be forged by a page: trusted as it says
  // (same-origin also behind a proxy that rewrites Host).
  if (!fetch_site.empty()) return fetch_site != "same-origin" && fetch_site != "none";
  if (origin.empty()) return false;  // not a browser, or one that names no origin for this request
  // The page's origin must be this listener as the browser reached it (its Host); "null"
  // (a sandboxed frame, a file) is another origin too.
  std::size_t scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos) return true;
  return !http::iequals(origin.substr(scheme_end + 3), host);
}

bool AdminServer::rebinding_risk(std::string_view host, std::string_view fetch_site, bool token_set) {
  if (token_set || fetch_site.empty()) return false;  // a token cannot be rebound; not a browser
  std::string_view name = http::host_without_port(host);
  if (name == "localhost" || name.ends_with(".localhost")) return false;
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  boost::system::error_code ec;
  asio::ip::make_address(std::string(name), ec);
  return static_cast<bool>(ec);  // a name, which its owner can point anywhere
}

bool AdminServer::token_accepted(std::string_view presented) const {
  const std::string& expected = gateway_.options().admin_token;
  if (expected.empty()) return true;
  // Digests compared in constant time: neither the token's bytes nor its length leak
  // through how long the comparison takes.
  unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
  unsigned int la = 0, lb = 0;
  EVP_Digest(presented.data(), presented.size(), a, &la, EVP_sha256(), nullptr);
  EVP_Digest(expected.data(), expected.size(), b, &lb, EVP_sha256(), nullptr);
  return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

asio::awaitable<void> AdminServer::serve(asio::ip::tcp::socket socket) {
  ByteBuffer buffer;
  buffer.acquire();
  boost::system::error_code nb_ec;
  socket.non_blocking(true, nb_ec);  // write_all() tries a direct write first
  Deadline deadline(deadlines_, &socket);
  proxy::Side side{socket, buffer, deadline, std::chrono::seconds(60), std::chrono::seconds(60)};
  http::ParserLimits limits;
  http::RequestHead request;
  for (;;) {
    auto outcome = http::parse_request_head(buffer.readable(), limits, request);
    if (outcome.state == http::ParseState::incomplete) {
      if (co_await proxy::read_more(side)) break;
      continue;
    }
    if (outcome.state == http::ParseState::error) {
      co_await proxy::write_all(side, http::json_error_response(outcome.status, outcome.message, true));
      break;
    }
    // Reading the body may move the buffer under the head's views: keep what is needed.
    std::string method(request.method), path(request.path), query(request.query);
    std::string content_type(request.find("content-type"));
    std::string token(request.find("kong-admin-token"));
    std::string if_none_match(request.find("if-none-match"));
    bool cross_site = cross_site_write(method, request.find("origin"), request.host, request.find("sec-fetch-site"));
    bool rebinding = rebinding_risk(request.host, request.find("sec-fetch-site"), !gateway_.options().admin_token.empty());
    std::string origin(request.find("origin"));
    std::string host(request.host);
    std::size_t head_size = request.head_size;
    bool keep = request.keep_alive;
    std::size_t body_size = 0;
    if (request.framing == http::BodyFraming::chunked) {
      co_await proxy::write_all(side, http::json_error_response(411, "Length Required", true));
      break;
    }
    if (request.framing == http::BodyFraming::content_length) {
      if (request.content_length > kMaxBody) {
        co_await proxy::write_all(side, http::json_error_response(413, "Request body too large", true));
        break;
      }
      body_size = static_cast<std::size_t>(request.content_length);
      bool failed = false;
      // curl sends Expect: 100-continue for larger bodies and waits a second without it.
      if (request.expect_continue && buffer.size() < head_size + body_size) {
        constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        failed = static_cast<bool>(co_await proxy::write_all(side, kContinue));
      }
      while (buffer.size() < head_size + body_size && !failed) {
        // Grown as the bytes arrive (a claimed length alone reserves nothing).
        if (buffer.writable() == 0 && buffer.capacity() < head_size + body_size) {
          buffer.grow(std::min(head_size + body_size, buffer.capacity() * 2));
        }
        auto ec = co_await proxy::read_more(side);
        failed = static_cast<bool>(ec);
      }
      if (failed) break;
    }
    Request parsed{method, path, query, content_type, buffer.readable().substr(head_size, body_size), if_none_match};
    auto started = std::chrono::steady_clock::now();
    Reply reply{401, R"({"message":"Invalid credentials. Token or User credentials required"})"};
    if (!status_only_ && cross_site) {
      reply = Reply{403, json::serialize(json::object{
                             {"message", "Admin API writes from another site's page are refused (Origin: " +
                                             (origin.empty() ? std::string("unknown") : origin) +
                                             "); use the dashboard at /dashboard/ on this address, or a client "
                                             "that is not a browser"}})};
    } else if (!status_only_ && rebinding) {
      reply = Reply{403, json::serialize(json::object{
                             {"message", "a browser reached this Admin API, which has no --admin-token, by the name '" +
                                             std::string(http::host_without_port(host)) +
                                             "': only by IP address or localhost (a name can be re-pointed at this "
                                             "address by another site: DNS rebinding); set --admin-token to use a name"}})};
    } else if (status_only_ || token_accepted(token) || Dashboard::is_public(method, path)) {
      reply = co_await handle(parsed);
    }
    spdlog::debug("admin: {} {} {} in {:.1f} ms", method, path, reply.status,
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    std::string response;
    if (reply.content_type.empty()) {
      response = http::json_response(reply.status, reply.body, !keep, reply.headers, method == "HEAD");
    } else {
      response = http::stored_response_head(reply.status, "Content-Type: " + reply.content_type + "\r\n" + reply.headers,
                                            {}, reply.body.size(), keep ? "" : "close");
      if (method != "HEAD") response += reply.body;
    }
    buffer.consume(head_size + body_size);
    if (co_await proxy::write_all(side, response) || !keep) break;
  }
  boost::system::error_code ec;
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

}  // namespace portico::admin
