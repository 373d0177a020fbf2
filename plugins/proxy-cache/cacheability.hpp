// What may be stored, and for how long: the proxy cache's safety rules (issue 11 section 2,
// README.md "What is never stored"), separate from the plugin so each rule is unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/caching.hpp"
#include "http/header_view.hpp"

namespace portico::plugins::cache {

// The parts of the plugin's config the rules read.
struct StoreRules {
  std::vector<int> response_code{200, 301, 404};
  std::vector<http::MediaType> content_types;  // parsed `content_type`
  bool cache_control = false;                  // honour RFC 9111 directives
  int cache_ttl = 300;                         // seconds, when cache_control is off
  std::int64_t max_body_size = 0;              // 0: no bound of its own
};

// What the rules need to know of the request (read in the access phase: a request's head is
// not readable any more once its body was streamed upstream).
struct RequestFacts {
  // An Authorization header, or a credential that names no consumer (a token verified against
  // an identity provider's keys): the caller is someone the key does not tell apart.
  bool authorized = false;
  bool has_body = false;  // the key does not cover a body: answers to such requests are not stored
};

struct StoreDecision {
  bool store = false;
  std::int64_t ttl_seconds = 0;  // freshness lifetime left (the upstream's Age deducted, with cache_control)
  bool must_revalidate = false;  // must-revalidate, proxy-revalidate or s-maxage: never served stale
  std::string_view reason;       // why not (for logs and tests), empty when stored
};

// Whether the response may be stored. `now_seconds` is for Expires.
StoreDecision decide_store(const StoreRules& rules, const RequestFacts& request, const http::ResponseHead& response,
                           std::int64_t now_seconds);

// The upstream's Age in seconds (0 without a valid one).
std::int64_t upstream_age(const http::MessageHead& response);

// The response's freshness lifetime from its directives (s-maxage, max-age, then Expires
// minus Date or now), 0 when it has none, as Kong's calculate_resource_ttl.
std::int64_t resource_ttl(const http::CacheControl& cc, const http::MessageHead& response, std::int64_t now_seconds);

// The response's header lines as the cache stores them: without hop-by-hop and framing
// fields (and those Connection names, and Proxy-Authenticate/-Authorization as Kong), Age,
// and Kong's per-request ones (X-Cache-*, RateLimit-Remaining...), which a hit sets afresh.
std::string stored_header_lines(const http::ResponseHead& response);

}  // namespace portico::plugins::cache
