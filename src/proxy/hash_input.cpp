#include "proxy/hash_input.hpp"

#include <openssl/rand.h>
#include <re2/re2.h>

namespace portico::proxy {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view header_value(const http::RequestHead& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (http::iequals(h.name, name)) return h.value;
  }
  return {};
}

std::string_view uri_capture(const router::MatchResult& m, const std::string& name) {
  if (m.regex == nullptr) return {};
  const auto& groups = m.regex->NamedCapturingGroups();
  auto it = groups.find(name);
  if (it == groups.end() || it->second < 1 || static_cast<std::size_t>(it->second) > m.captures.size()) return {};
  return m.captures[static_cast<std::size_t>(it->second) - 1];
}

std::string random_cookie_value() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return "portico";
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

// One hash input's value for this request; empty when it has none.
std::string_view input_value(const std::string& kind, const std::string& header, const std::string& query_arg,
                             const std::string& capture, const config::UpstreamConfig& u, const HashInputs& in) {
  if (kind == "ip") return in.client_ip;
  if (kind == "consumer") return in.consumer_id;
  if (kind == "path") return in.path;
  if (in.request == nullptr) return {};
  if (kind == "header") return header_value(*in.request, header);
  if (kind == "query_arg") return query_value(in.request->query, query_arg);
  if (kind == "cookie") return cookie_value(header_value(*in.request, "cookie"), u.hash_on_cookie);
  if (kind == "uri_capture" && in.match != nullptr) return uri_capture(*in.match, capture);
  return {};
}

}  // namespace

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    std::string_view pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) == name) {
      std::string_view v = trim(pair.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return {};
}

std::string_view query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
  }
  return {};
}

HashKey balancing_key(const config::UpstreamConfig& u, const HashInputs& in) {
  HashKey out;
  std::string_view v = input_value(u.hash_on, u.hash_on_header, u.hash_on_query_arg, u.hash_on_uri_capture, u, in);
  if (v.empty() && u.hash_on == "cookie") {
    out.minted_cookie = random_cookie_value();
    out.key = out.minted_cookie;
    return out;
  }
  if (v.empty()) {
    v = input_value(u.hash_fallback, u.hash_fallback_header, u.hash_fallback_query_arg, u.hash_fallback_uri_capture, u, in);
  }
  out.key = std::string(v);
  return out;
}

}  // namespace portico::proxy
