// libFuzzer target: Kong's path normalisation (what every request path goes through before the
// router matches it), the router itself (over a fixed set of Kong routes: prefixes, PCRE-style
// regexes with named captures, hosts with wildcards, methods, headers), and the upstream path
// built from a service path and a matched prefix. Beyond "no crash, no sanitizer report":
//   - a normalised path is a fixed point: normalising it again changes nothing;
//   - it has no dot segment left ("/./", "/../", or one at the end) and no escape of an
//     unreserved character (RFC 3986 6.2.2.2; but for a digit that would complete a '%' before
//     it into an escape), and it is never longer than the input;
//   - a route the router picks holds for the request: its method, its host, its header, and a
//     plain path is a prefix of the request's; the matched length and the regex captures lie
//     inside the path;
//   - the upstream path begins with the service path's bytes (a request can never step out
//     of the service's prefix) and is never empty.
// Built by tests/fuzz/run.sh.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/model.hpp"
#include "http/h1_parser.hpp"
#include "router/router.hpp"

namespace {

using namespace portico::router;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool unreserved(unsigned char c) { return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

int hex(char c) { return portico::http::hex_digit_value(c); }

bool has_dot_segment(std::string_view p) {
  for (std::string_view seg : {std::string_view("/./"), std::string_view("/../")}) {
    if (p.find(seg) != std::string_view::npos) return true;
  }
  return p == "/." || p == "/.." || p.ends_with("/.") || p.ends_with("/..");
}

void normalise(std::string_view path) {
  std::string out;
  bool changed = false;
  if (!normalize_path(path, out, changed)) return;
  std::string_view normal = changed ? std::string_view(out) : path;
  check(normal.size() <= path.size());
  if (!path.starts_with('/')) return;  // (only origin-form paths get here from the parser)
  check(!has_dot_segment(normal));
  for (std::size_t i = 0; i + 2 < normal.size(); ++i) {
    if (normal[i] != '%') continue;
    int hi = hex(normal[i + 1]), lo = hex(normal[i + 2]);
    // (kept when, decoded, it would complete a '%' before it into an escape: "%4%31")
    const bool after_percent = (i >= 1 && normal[i - 1] == '%') || (i >= 2 && normal[i - 2] == '%' && hex(normal[i - 1]) >= 0);
    const char decoded = static_cast<char>(hi * 16 + lo);
    if (hi >= 0 && lo >= 0 && !(after_percent && hex(decoded) >= 0)) check(!unreserved(static_cast<unsigned char>(decoded)));
  }
  std::string again;
  bool changed_again = false;
  check(normalize_path(normal, again, changed_again));
  check(!changed_again || again == normal);
}

const portico::config::DeclarativeConfig& routes() {
  static const portico::config::DeclarativeConfig built = [] {
    portico::config::DeclarativeConfig config;
    auto add = [&config](std::vector<std::string> paths, std::vector<std::string> hosts = {},
                         std::vector<std::string> methods = {}, int regex_priority = 0) -> portico::config::RouteConfig& {
      portico::config::RouteConfig r;
      r.name = "r" + std::to_string(config.routes.size());
      r.paths = std::move(paths);
      r.hosts = std::move(hosts);
      r.methods = std::move(methods);
      r.regex_priority = regex_priority;
      config.routes.push_back(std::move(r));
      return config.routes.back();
    };
    add({"/api"}, {}, {"GET", "HEAD"});
    add({"/api/v2"}, {"api.example.com"});
    add({"~/users/(?<id>\\d+)$"});
    add({"~/files/(.*)/raw$", "/static/"}, {}, {}, 5);
    add({"/"}, {"*.example.com"});
    add({"/ab"}).headers["x-version"] = {"v2", "~*^beta-[0-9]+$"};
    add({"/abc"}, {"shop.*"}, {"POST"});
    add({"~/(?<tenant>[a-z]+)/orders/(?<order>[0-9a-f-]+)"}, {"orders.example.com:8443"});
    return config;
  }();
  return built;
}

const Router& router() {
  static const Router built(routes());
  return built;
}

void route(std::string_view input) {
  // method NUL host NUL x-version NUL path
  std::string_view parts[4];
  for (int i = 0; i < 3; ++i) {
    std::size_t nul = input.find('\0');
    if (nul == std::string_view::npos) return;
    parts[i] = input.substr(0, nul);
    input.remove_prefix(nul + 1);
  }
  parts[3] = input;
  std::string normal;
  bool changed = false;
  if (parts[3].empty() || parts[3][0] != '/' || !normalize_path(parts[3], normal, changed)) return;
  std::string_view path = changed ? std::string_view(normal) : parts[3];
  portico::http::MessageHead head;
  if (!parts[2].empty()) head.headers.push_back({"X-Version", parts[2]});
  MatchInput in;
  in.method = parts[0];
  in.host = parts[1];
  in.path = path;
  in.headers = &head;
  MatchResult out;
  if (!router().match(in, out)) return;
  const CompiledRoute& r = *out.route;
  if (!r.methods.empty()) {
    bool listed = false;
    for (const auto& m : r.methods) listed = listed || m == parts[0];
    check(listed);
  }
  check(r.headers.empty() || !parts[2].empty());
  check(r.hosts.empty() || !parts[1].empty());
  check(out.matched_length <= path.size());
  const auto& paths = routes().routes[r.route_index].paths;
  if (out.regex == nullptr && !paths.empty()) {  // a plain prefix of the path matched
    bool prefix = false;
    for (const auto& p : paths) prefix = prefix || (p[0] != '~' && path.starts_with(p) && p.size() == out.matched_length);
    check(prefix);
  }
  for (std::string_view c : out.captures) {
    if (c.data() == nullptr) continue;  // an optional group that took part in nothing
    check(c.data() >= path.data() && c.data() + c.size() <= path.data() + path.size());
  }
}

void upstream_path(std::string_view input, std::uint8_t flags) {
  // service path | request path, split at the first NUL
  std::size_t split = input.find('\0');
  if (split == std::string_view::npos) return;
  std::string_view service = input.substr(0, split);
  std::string_view request = input.substr(split + 1);
  if (request.empty() || request[0] != '/') return;
  std::size_t strip = flags >> 2;
  if (strip > request.size()) strip = request.size();
  std::string out = build_upstream_path(service, request, strip, flags & 1, flags & 2);
  check(!out.empty());
  if (!service.empty() && service != "/") check(out.starts_with(service.substr(0, service.size() - (service.ends_with('/') ? 1 : 0))));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 0x80) upstream_path(input, data[0] & 0x7f);
  else if (data[0] & 0x40) route(input);
  else normalise(input);
  return 0;
}
