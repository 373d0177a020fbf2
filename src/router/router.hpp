// Route matching with Kong's traditional_compatible precedence.
//
// Every (route, path) pair becomes one entry with Kong's 64-bit priority:
//   bits 61-63 number of matching categories (methods, hosts, headers, snis, paths)
//   bit  60    hosts present and none is a wildcard
//   bits 52-59 number of header conditions
//   bit  51    the path is a regex
//   bits 19-50 regex_priority (regex paths only)
//   bits 0-18  length of the plain path prefix
// Entries are ranked by priority (higher first), then by declaration order. The first
// entry, in rank order, whose conditions all hold wins.
//
// Matching does not scan every route: plain path prefixes are looked up in one hash map
// per distinct prefix length, routes without paths but with exact hosts in a host map;
// regex paths are prefiltered together by one RE2::Set pass; only host-wildcard/method/
// header-only routes are kept in a short "always check" list.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/model.hpp"
#include "http/header_view.hpp"

namespace re2 {
class RE2;
}

namespace portico::router {

// A route compiled for matching. Owned by the Router; immutable after build.
struct CompiledRoute {
  std::size_t route_index = 0;    // into DeclarativeConfig::routes
  std::size_t service_index = 0;  // into DeclarativeConfig::services, or RouteConfig::kNoService
  std::string name;
  std::string id;  // empty when the file gave none
  std::vector<std::string> methods;
  struct HostPattern {
    enum class Kind { exact, suffix, prefix } kind = Kind::exact;
    std::string value;  // lowercased; for suffix ".example.com", for prefix "example."
    int port = 0;       // 0: any port
  };
  std::vector<HostPattern> hosts;
  struct HeaderCondition {
    std::string name;                           // lowercased
    std::vector<std::string> values;            // exact, compared case-insensitively
    std::vector<std::shared_ptr<re2::RE2>> regexes;  // "~*" values, case-insensitive
  };
  std::vector<HeaderCondition> headers;
  // Kong's snis: on a TLS connection the client's server name must match one of these
  // (same pattern kinds as hosts, no port; "*" is a suffix ""). Plain HTTP ignores them.
  std::vector<HostPattern> snis;
  bool strip_path = true;
  bool preserve_host = false;
  bool path_handling_v1 = false;
  // What the route's protocols take (Kong's http/https, Kong Enterprise's ws/wss). http and
  // https also take WebSocket handshakes (as Kong's open-source gateway proxies them on any
  // route); ws and wss take nothing else. Plain-text requests the route does not take get
  // https_redirect_status_code (426 by default, or a redirect to https) when it takes them
  // over TLS; see proxy_request.cpp.
  bool accepts_http = true;       // "http": plain-text requests
  bool accepts_plain_ws = true;   // "http" or "ws": plain-text WebSocket handshakes
  bool accepts_requests = true;   // "http" or "https": anything but a WebSocket handshake
  // grpc/grpcs routes (never mixed with the others): only gRPC requests over HTTP/2, as Kong
  // checks after matching (415 otherwise, 426 over HTTP/1.x); grpcs alone wants TLS.
  bool grpc_only = false;
  bool accepts_plain_grpc = false;  // "grpc"
  int https_redirect_status_code = 426;
};

// Everything the router looks at in a request.
struct MatchInput {
  std::string_view method;
  std::string_view host;   // Host header or authority; may include a port
  std::string_view path;   // normalized path, no query
  int local_port = 0;      // the listener port the request arrived on
  const http::MessageHead* headers = nullptr;
  bool tls = false;       // the request arrived over a TLS connection
  std::string_view sni;   // that connection's server name (empty: the client sent none)
};

struct MatchResult {
  const CompiledRoute* route = nullptr;
  std::size_t matched_length = 0;  // bytes of the path matched (stripped when strip_path)
  std::vector<std::string_view> captures;  // regex groups 1..n (views into the input path)
  const re2::RE2* regex = nullptr;         // the regex path that matched (named groups), if any
};

class Router {
 public:
  // Compiles the routes of a validated config. Regexes were validated by the loader.
  explicit Router(const config::DeclarativeConfig& config);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Finds the best route. Thread-safe (const); uses a thread-local scratch vector.
  bool match(const MatchInput& input, MatchResult& out) const;

  std::size_t route_count() const { return routes_.size(); }
  const CompiledRoute& route(std::size_t i) const { return *routes_[i]; }

  // Kong's priority for one (route, path); exposed for tests and docs.
  static std::uint64_t priority(const config::RouteConfig& route, const std::string* path);

 private:
  struct Entry {
    std::uint64_t priority = 0;
    std::size_t order = 0;
    const CompiledRoute* route = nullptr;
    std::string prefix;                 // plain path (empty: no path condition)
    std::shared_ptr<re2::RE2> regex;    // regex path
    bool has_path = false;
  };
  bool entry_matches(const Entry& e, const MatchInput& in, std::string_view host, int port,
                     MatchResult& out) const;

  std::vector<std::unique_ptr<CompiledRoute>> routes_;
  std::vector<Entry> entries_;  // sorted by rank
  // prefix length -> (prefix -> entry ranks)
  std::vector<std::pair<std::size_t, std::unordered_map<std::string_view, std::vector<std::uint32_t>>>> by_prefix_;
  std::unordered_map<std::string, std::vector<std::uint32_t>> by_host_;
  std::vector<std::uint32_t> always_;
  // All regex paths in one RE2::Set (one pass over the path finds the candidates);
  // regex_ranks_[i] is the entry rank of the set's pattern i.
  struct RegexSet;
  std::unique_ptr<RegexSet> regex_set_;
  std::vector<std::uint32_t> regex_ranks_;
};

// Kong's path normalization before matching: decodes percent-encoded unreserved
// characters, upper-cases remaining escapes and removes dot segments (RFC 3986 5.2.4).
// Returns false when the path escapes above the root. `out` is only written when a
// change was needed (`changed`), so the common case costs no allocation.
bool normalize_path(std::string_view path, std::string& out, bool& changed);

// Builds the upstream path from the service path and the request path, as Kong does
// for path_handling v0 and v1. `strip_length` is the matched prefix length.
// `out` is overwritten (its capacity is reused).
void build_upstream_path(std::string& out, std::string_view service_path, std::string_view request_path,
                         std::size_t strip_length, bool strip_path, bool v1);
std::string build_upstream_path(std::string_view service_path, std::string_view request_path,
                                std::size_t strip_length, bool strip_path, bool v1);

}  // namespace portico::router
