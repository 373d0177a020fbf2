#include "proxy/hash_input.hpp"

#include <openssl/rand.h>
#include <re2/re2.h>

#include "crypto/digest.hpp"
#include "http/params.hpp"

namespace portico::proxy {
namespace {

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
  return crypto::hex_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

// One hash input's value for this request; empty when it has none.
std::string_view input_value(const std::string& kind, const std::string& header, const std::string& query_arg,
                             const std::string& capture, const config::UpstreamConfig& u, const HashInputs& in) {
  if (kind == "ip") return in.client_ip;
  if (kind == "consumer") return in.consumer_id;
  if (kind == "path") return in.path;
  if (in.request == nullptr) return {};
  if (kind == "header") return header_value(*in.request, header);
  if (kind == "query_arg") return http::query_value(in.request->query, query_arg);
  if (kind == "cookie") return http::cookie_value(header_value(*in.request, "cookie"), u.hash_on_cookie);
  if (kind == "uri_capture" && in.match != nullptr) return uri_capture(*in.match, capture);
  return {};
}

}  // namespace

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
