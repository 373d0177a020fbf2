#include "plugins/openid-connect/discovery.hpp"

#include <algorithm>

namespace portico::plugins::openid_connect {

namespace json = boost::json;

namespace {
constexpr std::string_view kSuffix = "/.well-known/openid-configuration";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Reads the string member `name` into `out`: absent or null leaves it empty; anything but a
// string is an error.
bool read_string(const json::object& doc, std::string_view name, std::string& out, std::string& error) {
  const json::value* v = doc.if_contains(name);
  if (v == nullptr || v->is_null()) return true;
  if (!v->is_string()) {
    error = "discovery document: '" + std::string(name) + "' is not a string";
    return false;
  }
  out = std::string(v->get_string());
  return true;
}
}  // namespace

bool ProviderMetadata::supports_s256() const {
  return std::find(code_challenge_methods_supported.begin(), code_challenge_methods_supported.end(), "S256") !=
         code_challenge_methods_supported.end();
}

std::string issuer_identifier(std::string_view issuer) {
  if (ends_with(issuer, kSuffix)) issuer.remove_suffix(kSuffix.size());
  while (!issuer.empty() && issuer.back() == '/') issuer.remove_suffix(1);
  return std::string(issuer);
}

std::string discovery_url(std::string_view issuer) {
  if (ends_with(issuer, kSuffix)) return std::string(issuer);
  return issuer_identifier(issuer) + std::string(kSuffix);
}

bool is_http_url(std::string_view url) {
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) rest = url.substr(8);
  else if (url.rfind("http://", 0) == 0) rest = url.substr(7);
  else return false;
  const std::size_t host_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, host_end);
  // No space or control byte anywhere: the URL goes into Location headers as it is.
  for (unsigned char c : url) {
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return !authority.empty() && authority.front() != ':' && authority.find('@') == std::string_view::npos;
}

std::optional<ProviderMetadata> parse_discovery(const json::value& document, std::string_view expected_issuer,
                                                std::string& error) {
  if (!document.is_object()) {
    error = "discovery document: not a JSON object";
    return std::nullopt;
  }
  const json::object& doc = document.get_object();
  ProviderMetadata m;
  struct Member {
    std::string_view name;
    std::string* out;
    bool required;
  };
  const Member members[] = {
      {"issuer", &m.issuer, true},
      {"authorization_endpoint", &m.authorization_endpoint, true},
      {"token_endpoint", &m.token_endpoint, true},
      {"jwks_uri", &m.jwks_uri, true},
      {"userinfo_endpoint", &m.userinfo_endpoint, false},
      {"introspection_endpoint", &m.introspection_endpoint, false},
      {"end_session_endpoint", &m.end_session_endpoint, false},
      {"revocation_endpoint", &m.revocation_endpoint, false},
  };
  for (const Member& member : members) {
    if (!read_string(doc, member.name, *member.out, error)) return std::nullopt;
    if (member.out->empty()) {
      if (!member.required) continue;
      error = "discovery document: '" + std::string(member.name) + "' is missing";
      return std::nullopt;
    }
    if (member.name != "issuer" && !is_http_url(*member.out)) {
      error = "discovery document: '" + std::string(member.name) + "' is not an http(s) URL: " + *member.out;
      return std::nullopt;
    }
  }
  if (m.issuer != expected_issuer) {
    error = "discovery document: its issuer '" + m.issuer + "' is not the configured issuer '" +
            std::string(expected_issuer) + "'";
    return std::nullopt;
  }
  if (const json::value* methods = doc.if_contains("code_challenge_methods_supported"); methods && methods->is_array()) {
    for (const json::value& method : methods->get_array()) {
      if (method.is_string()) m.code_challenge_methods_supported.emplace_back(method.get_string());
    }
  }
  return m;
}

}  // namespace portico::plugins::openid_connect
