#include "plugins/proxy-cache/cacheability.hpp"

#include <algorithm>

namespace portico::plugins::cache {
namespace {

bool contains_ci(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (http::iequals(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

bool vary_star(const http::MessageHead& response) {
  for (const auto& h : response.headers) {
    if (http::iequals(h.name, "vary") && h.value.find('*') != std::string_view::npos) return true;
  }
  return false;
}

bool content_type_matches(const StoreRules& rules, const http::MessageHead& response) {
  std::string_view value;
  int count = 0;
  for (const auto& h : response.headers) {
    if (http::iequals(h.name, "content-type")) value = h.value, ++count;
  }
  if (count != 1 || value.empty()) return false;  // Kong: one, non-empty Content-Type
  auto actual = http::parse_media_type(value);
  if (!actual) return false;
  return std::any_of(rules.content_types.begin(), rules.content_types.end(),
                     [&](const http::MediaType& expected) { return http::media_type_matches(expected, *actual); });
}

}  // namespace

std::int64_t upstream_age(const http::MessageHead& response) {
  std::int64_t age = 0;
  for (char c : http::trim_ows(response.find("age"))) {
    if (c < '0' || c > '9') return 0;  // not a number: ignored (RFC 9111 5.1)
    age = std::min<std::int64_t>(age * 10 + (c - '0'), 2147483648);
  }
  return age;
}

std::int64_t resource_ttl(const http::CacheControl& cc, const http::MessageHead& response, std::int64_t now_seconds) {
  if (cc.s_maxage >= 0) return cc.s_maxage;
  if (cc.max_age >= 0) return cc.max_age;
  std::string_view expires;
  for (const auto& h : response.headers) {
    if (http::iequals(h.name, "expires")) expires = h.value;  // the last one, as Kong
  }
  if (expires.empty()) return 0;
  auto at = http::parse_http_date(expires);
  if (!at) return 0;  // an invalid Expires means "already expired" (RFC 9111 5.3)
  auto date = http::parse_http_date(response.find("date"));
  std::int64_t base = date ? *date : now_seconds;
  return std::max<std::int64_t>(0, *at - base);
}

StoreDecision decide_store(const StoreRules& rules, const RequestFacts& request, const http::ResponseHead& response,
                           std::int64_t now_seconds) {
  StoreDecision d;
  if (request.has_body) return d.reason = "request has a body", d;
  if (response.status == 206) return d.reason = "partial content", d;
  if (std::find(rules.response_code.begin(), rules.response_code.end(), response.status) == rules.response_code.end()) {
    return d.reason = "status not in response_code", d;
  }
  if (!content_type_matches(rules, response)) return d.reason = "content type not in content_type", d;
  if (response.has("set-cookie")) return d.reason = "Set-Cookie", d;
  if (vary_star(response)) return d.reason = "Vary: *", d;
  http::CacheControl cc = http::cache_control_of(response);
  if (cc.no_store) return d.reason = "Cache-Control: no-store", d;
  // Meant for one user's cache: never a shared one's, whatever cache_control says (Kong stores it).
  if (cc.is_private) return d.reason = "Cache-Control: private", d;
  // RFC 9111 3.5: a shared cache stores an answer to an authorized request only when told it may.
  if (request.authorized && !cc.is_public && cc.s_maxage < 0) return d.reason = "request has Authorization", d;
  if (rules.max_body_size > 0 && response.framing == http::BodyFraming::content_length &&
      response.content_length > static_cast<std::uint64_t>(rules.max_body_size)) {
    return d.reason = "body larger than max_body_size", d;
  }
  if (rules.cache_control) {
    if (cc.no_cache) return d.reason = "Cache-Control: no-cache", d;
    d.ttl_seconds = resource_ttl(cc, response, now_seconds);
    if (d.ttl_seconds <= 0) return d.reason = "no freshness lifetime", d;
    d.ttl_seconds -= upstream_age(response);  // RFC 9111 4.2: the time it already spent in caches
    if (d.ttl_seconds <= 0) return d.reason = "already stale (Age)", d;
  } else {
    d.ttl_seconds = rules.cache_ttl;
  }
  d.must_revalidate = cc.must_revalidate || cc.s_maxage >= 0;  // s-maxage implies proxy-revalidate
  d.store = true;
  return d;
}

std::string stored_header_lines(const http::ResponseHead& response) {
  std::string out;
  for (const auto& h : response.headers) {
    if (http::is_hop_by_hop_or_framing(h.kind)) continue;
    bool named_in_connection = std::any_of(response.connection_tokens.begin(), response.connection_tokens.end(),
                                           [&](std::string_view t) { return http::iequals(t, h.name); });
    if (named_in_connection) continue;
    if (http::iequals(h.name, "age") || http::iequals(h.name, "x-cache-status") || http::iequals(h.name, "x-cache-key") ||
        http::iequals(h.name, "proxy-authenticate") || http::iequals(h.name, "proxy-authorization") ||
        contains_ci(h.name, "ratelimit-remaining")) {
      continue;
    }
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  return out;
}

}  // namespace portico::plugins::cache
