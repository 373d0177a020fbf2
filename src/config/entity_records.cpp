#include "config/entity_records.hpp"

#include <boost/url/parse.hpp>

#include "config/kong_regex.hpp"
#include "config/validators.hpp"

namespace portico::config {

namespace {

using schema::Errors;
namespace json = boost::json;

std::string entity_name_problem(const std::string& name) {
  return is_valid_entity_name(name) ? "" : "invalid name: must match [a-zA-Z0-9.-_~]+";
}

bool given(const json::object& input, std::string_view field) {
  const auto* v = input.if_contains(field);
  return v != nullptr && !v->is_null();
}

// Kong's `url` shorthand into protocol, host, port and path.
void expand_url(ServiceConfig& s, Errors& errors) {
  auto parsed = boost::urls::parse_uri(s.url);
  if (!parsed) return errors.push_back({"url", "invalid url: " + s.url});
  s.protocol = std::string(parsed->scheme());
  if (parsed->has_userinfo()) return errors.push_back({"url", "url must not contain credentials (user@): " + s.url});
  s.host = std::string(parsed->host());
  if (s.host.empty()) return errors.push_back({"url", "url has no host: " + s.url});
  if (parsed->has_port()) {
    long long port = 0;
    if (!parse_integer(std::string(parsed->port()), port) || port < 0 || port > 65535) {
      return errors.push_back({"url", "invalid port in url"});
    }
    s.port = static_cast<int>(port);
  } else {
    s.port = s.protocol == "https" ? 443 : 80;
  }
  s.path = std::string(parsed->encoded_path());
  if (parsed->has_query() || parsed->has_fragment()) errors.push_back({"url", "url must not have a query or fragment"});
}

void finish_service(ServiceConfig& s, const json::object& input, Errors& errors) {
  if (!s.url.empty()) {
    if (given(input, "protocol") || given(input, "host") || given(input, "port") || given(input, "path")) {
      errors.push_back({"", "url cannot be combined with protocol, host, port or path"});
    }
    expand_url(s, errors);
    s.url.clear();  // expanded; never kept
  } else if (s.host.empty()) {
    errors.push_back({"", "must set either 'url' or 'host'"});
  } else if (!given(input, "port")) {
    s.port = s.protocol == "https" ? 443 : 80;
  }
  if (s.protocol == "https") {
    errors.push_back({"protocol", "https upstreams are not supported yet by Portico"});
  } else if (s.protocol != "http") {
    errors.push_back({"protocol", "expected one of: http, https"});
  }
  if (!s.host.empty() && !is_valid_hostname(s.host)) errors.push_back({"host", "invalid hostname: " + s.host});
  // A reserve other than the default without a budget is a mistake worth a word; the default
  // itself is what every full entity (an Admin API answer, an export) carries.
  if (given(input, "retry_budget_min_per_second") && s.retry_budget_percent < 0 &&
      s.retry_budget_min_per_second != ServiceConfig{}.retry_budget_min_per_second) {
    errors.push_back({"retry_budget_min_per_second",
                      "has no effect without retry_budget_percent (the retry budget is off unless "
                      "retry_budget_percent is set)"});
  }
}

std::string route_path_problem(const std::string& path) { return validate_route_path(path); }
std::string route_host_problem(const std::string& host) { return validate_route_host(host); }
std::string method_problem(const std::string& method) {
  return is_valid_method(method) ? "" : "invalid method '" + method + "' (expected an uppercase token)";
}
// A header value: exact, or a regex after "~*" (through Kong's PCRE-to-RE2 translation).
std::string header_value_problem(const std::string& value) {
  if (value.rfind("~*", 0) != 0) return "";
  auto re = compile_kong_regex(std::string_view(value).substr(2));
  return re.ok() ? "" : re.error().message;
}

void finish_route(RouteConfig& r, const json::object&, Errors& errors) {
  std::map<std::string, std::vector<std::string>> headers;
  for (auto& [name, values] : r.headers) {
    std::string lower = to_lower(name);
    if (lower == "host") {
      errors.push_back({"headers." + name, "cannot contain 'host' header, which must be specified in the 'hosts' attribute",
                        schema::FieldError::Subject::key});
    } else if (!is_valid_header_name(name)) {
      errors.push_back({"headers." + name, "invalid header name", schema::FieldError::Subject::key});
    } else {
      headers[lower] = std::move(values);
    }
  }
  r.headers = std::move(headers);
  for (auto& h : r.hosts) h = to_lower(h);
  int code = r.https_redirect_status_code;
  if (code != 426 && code != 301 && code != 302 && code != 307 && code != 308) {
    errors.push_back({"https_redirect_status_code", "expected one of: 426, 301, 302, 307, 308"});
  }
  if (r.methods.empty() && r.hosts.empty() && r.paths.empty() && r.headers.empty()) {
    errors.push_back({"", "must set one of 'methods', 'hosts', 'headers', 'paths'"});
  }
}

}  // namespace

const schema::Record<ServiceConfig>& service_record() {
  using S = ServiceConfig;
  static const schema::Record<S> record = [] {
    schema::Record<S> r;
    r.field("id", &S::id, {.nullable = true})
        .field("name", &S::name, {.nullable = true, .check = entity_name_problem})
        .field("url", &S::url, {.nullable = true, .input_only = true})
        .field("protocol", &S::protocol, {.one_of = {"http", "https"}})
        .field("host", &S::host, {.nullable = true})
        .field("port", &S::port, {.min = 0, .max = 65535})
        .field("path", &S::path, {.nullable = true, .check = [](const std::string& p) {
                 return p.empty() || p[0] == '/' ? std::string() : std::string("should start with: /");
               }})
        .field("retries", &S::retries, {.min = 0, .max = 32767})
        .field("connect_timeout", &S::connect_timeout_ms, {.min = 1, .max = 2147483646})
        .field("write_timeout", &S::write_timeout_ms, {.min = 1, .max = 2147483646})
        .field("read_timeout", &S::read_timeout_ms, {.min = 1, .max = 2147483646})
        .field("tags", &S::tags)
        .field("enabled", &S::enabled)
        // Portico's own (docs/configuration.md "Retries").
        .field("retry_on_statuses", &S::retry_on_statuses, {.min = 500, .max = 599})
        .field("retry_backoff_base", &S::retry_backoff_base_ms, {.min = 0, .max = 60000})
        .field("retry_backoff_max", &S::retry_backoff_max_ms, {.min = 0, .max = 600000})
        .field("retry_budget_percent", &S::retry_budget_percent, {.min = 0, .max = 100, .nullable = true})
        .field("retry_budget_min_per_second", &S::retry_budget_min_per_second, {.min = 0, .max = 1000000})
        .field("request_timeout", &S::request_timeout_ms, {.min = 0, .max = 2147483646})
        .accepted("created_at", json::object{{"type", "integer"}})
        .accepted("updated_at", json::object{{"type", "integer"}})
        .refused("retry_budget_min_concurrency",
                 "replaced by retry_budget_min_per_second (a reserve of retries per second; see docs/upstreams.md)");
    for (const char* f : {"client_certificate", "tls_verify", "tls_verify_depth", "ca_certificates"}) {
      r.refused(f, "not supported yet by Portico");
    }
    r.finish(finish_service);
    return r;
  }();
  return record;
}

const schema::Record<RouteConfig>& route_record() {
  using R = RouteConfig;
  static const schema::Record<R> record = [] {
    schema::Record<R> r;
    r.field("id", &R::id, {.nullable = true})
        .field("name", &R::name, {.nullable = true})
        .field("protocols", &R::protocols, {.one_of = {"http", "https"}, .len_min = 1})
        .field("methods", &R::methods, {.check = method_problem})
        .field("hosts", &R::hosts, {.check = route_host_problem})
        .field("paths", &R::paths, {.check = route_path_problem})
        .field("headers", &R::headers, {.check = header_value_problem})
        .field("strip_path", &R::strip_path)
        .field("preserve_host", &R::preserve_host)
        .field("regex_priority", &R::regex_priority, {.min = -2147483647, .max = 2147483647})
        .field("path_handling", &R::path_handling, {.one_of = {"v0", "v1"}})
        .field("https_redirect_status_code", &R::https_redirect_status_code)
        .field("request_buffering", &R::request_buffering)
        .field("response_buffering", &R::response_buffering)
        .field("tags", &R::tags)
        .accepted("created_at", json::object{{"type", "integer"}})
        .accepted("updated_at", json::object{{"type", "integer"}});
    for (const char* f : {"snis", "sources", "destinations"}) r.refused(f, "not supported yet by Portico");
    r.finish(finish_route);
    return r;
  }();
  return record;
}

}  // namespace portico::config
