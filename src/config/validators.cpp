#include "config/validators.hpp"

#include <boost/url/parse.hpp>

#include <cctype>
#include <charconv>

#include "config/kong_regex.hpp"
#include "http/h1_parser.hpp"

namespace portico::config {

bool parse_integer(const std::string& s, long long& out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, out);
  return r.ec == std::errc{} && r.ptr == end;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_valid_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (host.front() == '[' && host.back() == ']') return http::is_valid_authority(host);
  std::size_t label = 0;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
    if (++label > 63) return false;
  }
  return true;
}

bool is_valid_entity_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '~')) return false;
  }
  return true;
}

bool is_valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!http::is_tchar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool is_valid_method(std::string_view method) {
  if (method.empty()) return false;
  for (char c : method) {
    if (!(c >= 'A' && c <= 'Z')) return false;
  }
  return true;
}

std::string http_url_problem(const std::string& url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->host().empty()) {
    return "missing host in url";
  }
  return "";
}

bool split_host_port(std::string_view s, std::string& host, int& port, int default_port) {
  port = default_port;
  std::string_view h = s, p;
  if (!s.empty() && s[0] == '[') {
    std::size_t close = s.find(']');
    if (close == std::string_view::npos) return false;
    h = s.substr(0, close + 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') return false;
      p = s.substr(close + 2);
    }
  } else {
    std::size_t colon = s.rfind(':');
    if (colon != std::string_view::npos) {
      h = s.substr(0, colon);
      p = s.substr(colon + 1);
    }
  }
  if (!is_valid_hostname(h)) return false;
  if (!p.empty() || (s.size() > h.size() && s.back() == ':')) {
    long long v = 0;
    if (!parse_integer(std::string(p), v) || v < 1 || v > 65535) return false;
    port = static_cast<int>(v);
  }
  host = std::string(h);
  return true;
}

std::string validate_route_host(std::string_view host) {
  std::string h, dummy;
  int port = 0;
  std::string_view name = host;
  std::size_t colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(']') == std::string_view::npos) {
    name = host.substr(0, colon);
    long long v = 0;
    if (!parse_integer(std::string(host.substr(colon + 1)), v) || v < 1 || v > 65535) return "invalid port in host '" + std::string(host) + "'";
  }
  (void)port;
  std::size_t stars = std::count(name.begin(), name.end(), '*');
  if (stars > 1) return "invalid wildcard: only one '*' is allowed";
  if (stars == 1) {
    if (name.size() > 2 && name.substr(0, 2) == "*.") name = name.substr(2);
    else if (name.size() > 2 && name.substr(name.size() - 2) == ".*") name = name.substr(0, name.size() - 2);
    else return "invalid wildcard placement: '*' must be the first or last label";
  }
  if (!is_valid_hostname(name)) return "invalid hostname: " + std::string(host);
  return {};
}

std::string validate_route_path(std::string_view path) {
  if (path.empty()) return "length must be at least 1";
  if (path[0] == '~') {
    auto re = compile_kong_regex(path.substr(1));
    return re.ok() ? std::string() : re.error().message;
  }
  if (path[0] != '/') return "should start with: / (fixed path) or ~/ (regex path)";
  for (std::size_t i = 0; i < path.size(); ++i) {
    auto c = static_cast<unsigned char>(path[i]);
    if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#') return "invalid character in path";
    if (c == '%') {
      if (i + 2 >= path.size() || !std::isxdigit(static_cast<unsigned char>(path[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(path[i + 2]))) {
        return "invalid percent-encoding in path";
      }
    }
  }
  return {};
}

}  // namespace portico::config
