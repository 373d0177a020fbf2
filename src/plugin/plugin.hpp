// The plugin SDK: what a plugin is made of (docs/plugins.md walks through one).
//
// Three tiers, as in Envoy:
//   1. Schema: name, priority, phases, scopes, and `config`, the one declaration of the
//      entry's `config` block (Kong field names and defaults; plugin/config_schema.hpp)
//      that validates it into a ParsedConfig when the configuration is loaded. Nothing is
//      parsed on the request path.
//   2. Instance: built from a ParsedConfig for one snapshot (`instantiate`), immutable,
//      shared by every worker. Its phase methods are const.
//   3. Phases, each optional and declared in Schema::phases so that an unused phase is
//      never called: access (may answer the request; synchronous, with an awaited
//      continuation only for plugins that wait on I/O), upstream_request, response_headers,
//      response_body, log (always runs, noexcept), upstream_error (the upstream failed:
//      a plugin may answer instead of the gateway's error, e.g. a cache's stale entry), and
//      body_captured (the body a plugin asked to keep is complete).
// Per-request state lives in typed slots on the RequestContext, never in the instance.
#pragma once

#include <boost/json/value.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.hpp"

namespace portico::proxy {
class SharedStateRegistry;
}

namespace portico::obs {
class PrometheusText;
}

namespace portico::plugin {

class RequestContext;
class ConfigSchema;

// Phases a plugin takes part in (a bit mask in Schema::phases).
enum Phase : unsigned {
  kAccess = 1u << 0,
  kUpstreamRequest = 1u << 1,
  kResponseHeaders = 1u << 2,
  kResponseBody = 1u << 3,
  kLog = 1u << 4,
  kUpstreamError = 1u << 5,
  kBodyCaptured = 1u << 6,
};

// Where a plugin may be configured (a bit mask in Schema::scopes).
enum ScopeBit : unsigned {
  kGlobal = 1u << 0,
  kService = 1u << 1,
  kRoute = 1u << 2,
  kConsumer = 1u << 3,
};

// What the access phase of one plugin decided.
enum class Access {
  next,     // go on with the next plugin
  replied,  // the plugin set ctx.reply(): answer the client, skip the upstream
  suspend,  // call access_async() and wait for it (I/O); it returns next or replied
};

// Whether a response_body plugin needs this response's body (asked once the upstream's head
// is in, ctx.upstream_response()): bodies nobody needs are streamed, not buffered.
struct BodyNeed {
  bool wanted = false;
  std::uint64_t max_bytes = 0;    // the most it reads whole (0: the gateway's limit)
  bool pass_when_larger = false;  // a larger body goes to the client untouched (else 502)
};

// Tier 1 output: a plugin's validated `config`, plain data owned by the configuration.
struct ParsedConfig {
  virtual ~ParsedConfig() = default;
};

// Tier 2: one configured plugin in a snapshot. Immutable; phases are called from every
// worker thread at once.
class Instance {
 public:
  virtual ~Instance() = default;
  virtual Access access(RequestContext&) const { return Access::next; }
  virtual boost::asio::awaitable<Access> access_async(RequestContext&) const;
  // Edits what goes to the upstream (headers, query) once per request, before the first attempt.
  virtual void upstream_request(RequestContext&) const {}
  // Edits the client's response head (ctx.add_response_header()).
  virtual void response_headers(RequestContext&) const {}
  // Whether response_body needs this response's body (by default: every response's).
  virtual BodyNeed response_body_need(const RequestContext&) const { return {.wanted = true}; }
  // The whole response body, buffered (bounded by the proxy); may rewrite it, or answer
  // instead (ctx.reply(): a body it cannot handle).
  virtual void response_body(RequestContext&, std::string&) const {}
  // The upstream failed (`status`: the 500/502/503/504 the client would get, after retries):
  // the plugin may answer instead (ctx.reply_stored() / ctx.reply()). The first that does wins.
  virtual void upstream_error(RequestContext&, int /*status*/) const {}
  // The whole response body a plugin asked for (ctx.capture_response_body()) is in
  // ctx.captured_body(). Called before its last bytes are written to the client, so what the
  // plugin does with it (a cache storing it) is in place for any request the client sends
  // once it has the response.
  virtual void body_captured(RequestContext&) const {}
  virtual void log(RequestContext&) const noexcept {}
  // Of the phases its schema declares, those this instance takes part in: one whose
  // configuration needs fewer (a response-transformer without JSON operations has no body to
  // read) leaves the others out, and its chains skip it there.
  virtual unsigned phases(unsigned declared) const { return declared; }
};

// What an instance is built with (control thread, at snapshot build).
struct BuildContext {
  proxy::SharedStateRegistry& shared;
  const config::DeclarativeConfig& config;
  // Stable identity of the plugin entry ("name|service:<id>|route:<id>|consumer:<id>"),
  // for state that should survive a reload that does not change the entry.
  std::string key;
  std::string scope_name;  // "service 'orders'", "route 'r1'", "global", for logs
  // The control thread's event loop, for plugins' background work (key refreshes...);
  // null in unit tests and benchmarks, where such work is not started.
  boost::asio::io_context* control = nullptr;
  // The addresses of a host the plugin named through Schema::hosts (or an IP literal,
  // "localhost"), from the snapshot's DNS answers; empty with `error` set when it has none.
  std::function<std::vector<boost::asio::ip::tcp::endpoint>(const std::string& host, int port, std::string& error)>
      resolve = nullptr;
};

// Reports problems found in a parsed config that need the whole configuration (e.g. an
// `anonymous` consumer that does not exist). `field` is relative to the entry's config.
using CheckError = std::function<void(config::SourceMark mark, const std::string& field, const std::string& message)>;

// An Admin API endpoint a plugin adds (a cache's purge, a breaker's state), answered on the
// control thread from the plugin's live instances; the Admin API knows no plugin by name
// (admin/plugin_endpoints.*). Paths name their parameters in braces: "/proxy-cache/{key}".
struct AdminCall {
  std::string_view method;
  std::vector<std::string> params;  // the path's {placeholders}, in order, percent-decoded
  std::string_view query;
  const boost::json::value& body;   // the request body (an empty object without one)
  // This plugin's entries in the running configuration and their instances (null: disabled).
  std::vector<std::pair<const config::PluginEntry*, const Instance*>> instances;
};
using PluginInstances = std::vector<std::pair<const config::PluginEntry*, const Instance*>>;
struct AdminAnswer {
  int status = 200;
  boost::json::value body;  // null for a 204
};
struct AdminEndpoint {
  std::string_view path;
  std::vector<std::string_view> methods;  // "GET", "POST", ...
  // A coroutine on the control thread (a cache in Redis is purged there); `call` lives until
  // it completes. answer_now<> adapts a handler that answers at once.
  std::function<boost::asio::awaitable<AdminAnswer>(const AdminCall&)> handle;
};
template <AdminAnswer (*Handler)(const AdminCall&)>
boost::asio::awaitable<AdminAnswer> answer_now(const AdminCall& call) {
  co_return Handler(call);
}

// Tier 1: everything Portico knows about a plugin. One per plugin folder.
struct Schema {
  std::string_view name;  // Kong's name, e.g. "key-auth"
  int priority = 0;       // Kong's PRIORITY: higher runs first
  unsigned phases = 0;    // Phase bits
  unsigned scopes = kGlobal | kService | kRoute | kConsumer;
  // The `config` record's one declaration (plugin/config_schema.hpp).
  const ConfigSchema* config = nullptr;
  // Optional: checks against the rest of the configuration, once everything is read.
  std::function<void(const ParsedConfig&, const config::DeclarativeConfig&, const CheckError&)> check;
  // Builds the instance for a snapshot.
  std::function<std::shared_ptr<const Instance>(const ParsedConfig&, BuildContext&)> instantiate;
  // Optional: the Admin API endpoints the plugin adds.
  std::vector<AdminEndpoint> admin_endpoints = {};
  // Protects the service itself rather than the edge (a circuit breaker): its service-scoped
  // entries also run (access and log) for the calls the gateway makes to that service on a
  // plugin's behalf (plugin/backend_client.hpp). Edge plugins (auth, rate limits) do not.
  bool guards_upstream = false;
  // Optional: the host names the plugin's config calls directly (a URL backend's), resolved
  // with the services' names and handed to instantiate through BuildContext::resolve.
  std::function<void(const ParsedConfig&, std::vector<std::string>& hosts)> hosts = nullptr;
  // Optional: gauges read from the plugin's live instances at each GET /metrics scrape (a
  // circuit breaker's state), written to `out` (obs/prometheus_text.hpp).
  std::function<void(const PluginInstances& instances, obs::PrometheusText& out)> metrics = nullptr;
};

// Schema::instantiate for an instance class constructed from (const ConfigT&, BuildContext&).
template <typename InstanceT, typename ConfigT>
std::shared_ptr<const Instance> instantiate_as(const ParsedConfig& config, BuildContext& ctx) {
  return std::make_shared<InstanceT>(static_cast<const ConfigT&>(config), ctx);
}

}  // namespace portico::plugin
