// The proxy-cache plugin's key (issue 11): what makes two requests "the same" for the cache.
//
// Made of the route, the consumer when one is authenticated, the method, the scheme, the host,
// the normalised path (lowercased with ignore_uri_case), the query arguments (all of them,
// sorted by name, or only vary_query_params, in that order) and the values of vary_headers;
// nothing else the client sends. Kong's key has no scheme or host (two hosts routed to one
// route share entries there) and keeps the request line's protocol when there is no query;
// Portico's is stricter on purpose (docs/kong-reference/proxy-cache.md, section 3).
//
// Each part is written with its length before it, so no choice of values can make two
// different requests produce the same text. The store is keyed by that text (compared whole:
// no hash collision can mix two requests up); its SHA-256 in hex (64 characters, as Kong's) is
// the key clients and the Admin API see (X-Cache-Key), computed once when an entry is made.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/header_view.hpp"

namespace portico::plugins::cache {

struct KeyRequest {
  std::string_view route_id;
  std::string_view consumer_id;  // empty: no consumer
  std::string_view method;
  std::string_view scheme;  // "http" / "https"
  std::string_view host;    // as received; lowercased here
  std::string_view path;    // normalised
  std::string_view query;   // raw, without '?'
  const http::MessageHead* headers = nullptr;
};

struct KeyRules {
  bool ignore_uri_case = false;
  std::vector<std::string> vary_query_params;  // empty: every argument
  std::vector<std::string> vary_headers;       // lowercased names
};

// The query's part of the key, with Kong's equivalences (argument order does not matter, a
// repeated argument's values are sorted, names and values are compared decoded; every argument
// by name, or only the vary_query_params present, in that order) but unambiguous where
// Kong's `name=v1,v2:other=...` is not: each name and value is length-prefixed, so
// `?a=1%3Ab%3D2` is not `?a=1&b=2`, `?id%3D42` is not `?id=42`, and a bare `?a` is marked.
std::string query_part(std::string_view query, const std::vector<std::string>& vary_query_params);

std::string cache_key_text(const KeyRequest& request, const KeyRules& rules);
// The key as shown: the text's SHA-256 in lowercase hex.
std::string key_digest(std::string_view key_text);

}  // namespace portico::plugins::cache
