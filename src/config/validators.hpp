// Small validation helpers for configuration values (shared by the loader and, later,
// the admin API). Each returns a bool or an error message (empty when valid).
#pragma once

#include <string>
#include <string_view>

namespace portico::config {

bool parse_integer(const std::string& s, long long& out);
std::string to_lower(std::string_view s);
bool is_valid_hostname(std::string_view host);       // DNS name or IP literal
bool is_valid_entity_name(std::string_view name);    // Kong: [a-zA-Z0-9.-_~]+
bool is_valid_header_name(std::string_view name);    // RFC 9110 token
bool is_valid_method(std::string_view method);       // uppercase token
// An http:// or https:// URL with a host (a log or trace endpoint): "" or Kong's message.
std::string http_url_problem(const std::string& url);
// Route host: a hostname with at most one wildcard, leading "*." or trailing ".*", optional port.
std::string validate_route_host(std::string_view host);
// Route path: "/..." (prefix) or "~..." (RE2 regex, anchored at the start).
std::string validate_route_path(std::string_view path);
// "host[:port]" or "[v6]:port"; `default_port` when absent.
bool split_host_port(std::string_view s, std::string& host, int& port, int default_port);

}  // namespace portico::config
