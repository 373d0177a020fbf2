// The cors plugin (Kong's, priority 2000): answers CORS preflights at the edge and adds the
// CORS fields to every answer (the service's and the gateway's own: a 401, a 502), with
// Kong's origin rules. See README.md.
//
//   access:            a preflight (OPTIONS with Origin and Access-Control-Request-Method) is
//                      answered 200 with the Allow-* fields, unless preflight_continue; for
//                      other requests the fields are computed and added to the response (so
//                      they go with any answer), with `Vary: Origin` when they depend on it.
//   response_headers:  on the service's answer, its own Allow-Origin (and Allow-Credentials,
//                      Expose-Headers when the plugin sets them) give way to the plugin's.
#include <re2/re2.h>

#include <memory>

#include "config/kong_regex.hpp"
#include "http/header_view.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"

namespace portico::plugin {
namespace {

const std::vector<std::string> kAllMethods = {"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"};

struct CorsConfig : ParsedConfig {
  std::vector<std::string> origins, headers, exposed_headers;
  std::vector<std::string> methods = kAllMethods;
  double max_age = -1;  // nullable
  bool credentials = false;
  bool private_network = false;
  bool preflight_continue = false;
  bool allow_origin_absent = true;
};

// Kong: a value of letters, digits and ".:/-" is a literal origin; anything else a regex.
bool is_plain(std::string_view s) {
  return !s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:/-") ==
                           std::string_view::npos;
}

// A regex origin as Portico runs it: matched whole (Kong anchors only the start and appends
// "$", so an unparenthesised alternation "a\.test|b\.test" would accept "a.test.evil").
// The user's own anchors are dropped first; an escaped "\$" is text, not an anchor.
std::string whole_origin_regex(std::string pattern) {
  if (!pattern.empty() && pattern.front() == '^') pattern.erase(0, 1);
  if (!pattern.empty() && pattern.back() == '$') {
    std::size_t backslashes = 0;
    for (std::size_t i = pattern.size() - 1; i > 0 && pattern[i - 1] == '\\'; --i) ++backslashes;
    if (backslashes % 2 == 0) pattern.pop_back();
  }
  return "^(?:" + pattern + ")$";
}

std::string origin_problem(const std::string& origin) {
  if (origin == "*" || is_plain(origin)) return {};
  // Checked as it will run: a pattern that only compiles unwrapped ("\Q..." swallowing the
  // wrapper) is refused here, not when the configuration is applied.
  return config::compile_kong_regex(whole_origin_regex(origin)) ? std::string() : "'" + origin + "' is not a valid regex";
}

std::string header_value_problem(const std::string& v) {
  return v.find_first_of("\r\n,") == std::string::npos ? std::string() : "'" + v + "' is not a single header name";
}

const ConfigSchema& config_schema() {
  using C = CorsConfig;
  static const ConfigSchemaOf<C> schema(
      schema::Record<C>()
          .field("origins", &C::origins, {.check = origin_problem})
          .field("headers", &C::headers, {.check = header_value_problem})
          .field("exposed_headers", &C::exposed_headers, {.check = header_value_problem})
          .field("methods", &C::methods, {.one_of = kAllMethods})
          .field("max_age", &C::max_age, {.nullable = true})
          .field("credentials", &C::credentials)
          .field("private_network", &C::private_network)
          .field("preflight_continue", &C::preflight_continue)
          .field("allow_origin_absent", &C::allow_origin_absent));
  return schema;
}

// An origin as Kong compares it: scheme://host[:port] without the scheme's default port
// ("domain"), and the host alone. A value without "://" is both.
struct Origin {
  std::string domain, host;
};
Origin normalize_origin(std::string_view s) {
  std::size_t sep = s.find("://");
  if (sep == std::string_view::npos) return {std::string(s), std::string(s)};
  std::string_view scheme = s.substr(0, sep);
  std::string_view rest = s.substr(sep + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (std::size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);  // userinfo
  std::string_view host = rest, port;
  if (!rest.empty() && rest.front() == '[') {
    std::size_t close = rest.find(']');
    host = rest.substr(0, close == std::string_view::npos ? rest.size() : close + 1);
    if (close != std::string_view::npos && close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
  } else if (std::size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  bool default_port = (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
  std::string domain = std::string(scheme) + "://" + std::string(host);
  if (!port.empty() && !default_port) domain += ":" + std::string(port);
  return {std::move(domain), std::string(host)};
}

std::string join(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& s : list) out += (out.empty() ? "" : ",") + s;
  return out;
}

// Per request: what the plugin decided for an actual (non-preflight) request.
struct RequestState {
  bool decided;               // the plugin added its fields to this (actual) request's answer
  std::string_view lines;     // its fields other than Vary (arena), re-applied over the service's
  bool sets_credentials, sets_exposed;
};

class Cors final : public Instance {
 public:
  Cors(const CorsConfig& config, BuildContext&) : config_(config) {
    const auto& o = config.origins;
    allow_all_ = o.empty() || (o.size() == 1 && o[0] == "*");
    single_plain_ = o.size() == 1 && is_plain(o[0]);
    for (const auto& entry : o) {
      Entry e;
      if (entry == "*") {
        e.star = true;
      } else if (!is_plain(entry)) {
        e.regex = *config::compile_kong_regex(whole_origin_regex(entry));  // (checked at load)
        e.by_host = entry.find(':') == std::string::npos;
      } else {
        e.literal = normalize_origin(entry).domain;
      }
      entries_.push_back(std::move(e));
    }
    allow_methods_ = join(config.methods);
    allow_headers_ = join(config.headers);
    expose_ = join(config.exposed_headers);
    if (config.max_age >= 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.14g", config.max_age);
      max_age_ = buf;
    }
  }

  Access access(RequestContext& ctx) const override {
    const http::RequestHead& request = ctx.request();
    std::string_view origin = request.find("Origin");
    bool preflight = request.method == "OPTIONS" && !origin.empty() && request.has("Access-Control-Request-Method");
    if (preflight) {
      if (config_.preflight_continue) return Access::next;  // to the service; the plugin adds nothing
      std::string lines;
      bool allow_all = origin_lines(origin, lines, nullptr);
      credential_lines(origin, allow_all, lines, nullptr);
      std::string_view requested = request.find("Access-Control-Request-Headers");
      if (!allow_headers_.empty()) add(lines, "Access-Control-Allow-Headers", allow_headers_);
      else if (!requested.empty()) add(lines, "Access-Control-Allow-Headers", requested);
      add(lines, "Access-Control-Allow-Methods", allow_methods_);
      if (!max_age_.empty()) add(lines, "Access-Control-Max-Age", max_age_);
      if (config_.private_network && request.find("Access-Control-Request-Private-Network") == "true") {
        add(lines, "Access-Control-Allow-Private-Network", "true");
      }
      // Kong: 200, no body, no Content-Type. The lines live in the request's arena.
      ctx.reply_stored(200, ctx.store(lines), {}, std::shared_ptr<const void>(std::shared_ptr<const void>(), this));
      return Access::replied;
    }
    if (origin.empty() && !config_.allow_origin_absent) return Access::next;
    auto& state = ctx.state<RequestState>(*this);
    std::string lines, vary;
    bool allow_all = origin_lines(origin, lines, &vary);
    credential_lines(origin, allow_all, lines, &vary);
    state.sets_credentials = config_.credentials;
    if (!expose_.empty()) {
      add(lines, "Access-Control-Expose-Headers", expose_);
      state.sets_exposed = true;
    }
    state.lines = ctx.store(lines);
    state.decided = true;
    ctx.add_response_header_lines(ctx.concat({vary, state.lines}));
    return Access::next;
  }

  void response_headers(RequestContext& ctx) const override {
    auto* state = ctx.existing_state<RequestState>(*this);
    if (state == nullptr || !state->decided || ctx.upstream_response() == nullptr) return;
    // Kong sets (or clears) Allow-Origin over the service's, and sets the others it sends.
    if (!ctx.upstream_response()->has("Access-Control-Allow-Origin") &&
        !(state->sets_credentials && ctx.upstream_response()->has("Access-Control-Allow-Credentials")) &&
        !(state->sets_exposed && ctx.upstream_response()->has("Access-Control-Expose-Headers"))) {
      return;  // nothing of the service's to replace: the lines added in access stand
    }
    ctx.drop_response_header("Access-Control-Allow-Origin");
    if (state->sets_credentials) ctx.drop_response_header("Access-Control-Allow-Credentials");
    if (state->sets_exposed) ctx.drop_response_header("Access-Control-Expose-Headers");
    ctx.add_response_header_lines(state->lines);
  }

 private:
  struct Entry {
    bool star = false;
    std::shared_ptr<re2::RE2> regex;
    bool by_host = false;
    std::string literal;  // normalised
  };

  static void add(std::string& lines, std::string_view name, std::string_view value) {
    lines.append(name).append(": ").append(value).append("\r\n");
  }
  // Vary: Origin, in the preflight's own answer (vary null), or added to the service's Vary on
  // an actual response (kept apart in `vary`: it stays when the service's CORS fields give way).
  static void vary_origin(std::string& lines, std::string* vary) {
    std::string& out = vary != nullptr ? *vary : lines;
    if (out.find("Vary: Origin\r\n") == std::string::npos) out += "Vary: Origin\r\n";
  }

  // Kong's configure_origin: the Allow-Origin line (none when the origin is refused); returns
  // whether every origin is allowed ("*").
  bool origin_lines(std::string_view origin, std::string& lines, std::string* vary) const {
    if (allow_all_) {
      add(lines, "Access-Control-Allow-Origin", "*");
      return true;
    }
    vary_origin(lines, vary);
    if (single_plain_) {
      add(lines, "Access-Control-Allow-Origin", config_.origins[0]);  // Kong: the configured value, as written
      return false;
    }
    if (origin.empty()) return false;
    for (const auto& e : entries_) {
      if (e.star) {
        add(lines, "Access-Control-Allow-Origin", "*");
        return true;
      }
    }
    Origin normalized = normalize_origin(origin);
    for (const auto& e : entries_) {
      bool hit = e.regex ? RE2::FullMatch(e.by_host ? normalized.host : normalized.domain, *e.regex)
                         : e.literal == normalized.domain;
      if (hit) {
        add(lines, "Access-Control-Allow-Origin", normalized.domain);
        return false;
      }
    }
    return false;
  }

  // Kong's configure_credentials: never `true` with a wildcard origin; the caller's origin instead.
  void credential_lines(std::string_view origin, bool allow_all, std::string& lines, std::string* vary) const {
    if (!config_.credentials) return;
    if (!allow_all) {
      add(lines, "Access-Control-Allow-Credentials", "true");
      return;
    }
    if (origin.empty()) return;
    vary_origin(lines, vary);
    std::size_t star = lines.find("Access-Control-Allow-Origin: *\r\n");
    if (star != std::string::npos) lines.erase(star, std::string_view("Access-Control-Allow-Origin: *\r\n").size());
    add(lines, "Access-Control-Allow-Origin", origin);
    add(lines, "Access-Control-Allow-Credentials", "true");
  }

  const CorsConfig& config_;
  bool allow_all_ = false, single_plain_ = false;
  std::vector<Entry> entries_;
  std::string allow_methods_, allow_headers_, expose_, max_age_;
};

}  // namespace

const Schema& cors_schema() {
  static const Schema schema{
      .name = "cors",
      .priority = 2000,  // Kong's
      .phases = kAccess | kResponseHeaders,
      .scopes = kGlobal | kService | kRoute,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate_as<Cors, CorsConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
