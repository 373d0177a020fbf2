// What HTTP caches read from messages (RFC 9111): Cache-Control directives, HTTP dates, and
// media types matched as Kong's proxy-cache matches them. Used by the proxy-cache plugin.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/header_view.hpp"

namespace portico::http {

// The directives of one or more Cache-Control headers. Numbers are -1 when absent; a
// directive given without a usable number (`max-age=abc`) counts as absent, except
// `max-stale` alone, which means "any staleness" (RFC 9111 5.2.1.2) and reads as a year.
struct CacheControl {
  bool no_store = false, no_cache = false, is_private = false, is_public = false;
  bool must_revalidate = false, only_if_cached = false;
  std::int64_t max_age = -1, s_maxage = -1, max_stale = -1, min_fresh = -1;
};
CacheControl parse_cache_control(std::string_view value);
// Every Cache-Control field of the message, combined.
CacheControl cache_control_of(const MessageHead& head);

// An HTTP date (IMF-fixdate, RFC 850 or asctime, RFC 9110 5.6.7) as Unix seconds; nullopt
// when it is not one.
std::optional<std::int64_t> parse_http_date(std::string_view text);
// Unix seconds as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
std::string format_http_date(std::int64_t unix_seconds);

// A parsed media type: type and subtype lowercased, parameter names lowercased, values as
// given (quotes removed). Kong's mime_type parser: `*` alone is `*/*`.
struct MediaType {
  std::string type, subtype;
  std::vector<std::pair<std::string, std::string>> params;
};
std::optional<MediaType> parse_media_type(std::string_view text);
// Kong's rule: types equal or `*` in `expected`, subtypes likewise, and the same parameters
// with the same values (so `application/json` does not match `application/json; charset=utf-8`).
bool media_type_matches(const MediaType& expected, const MediaType& actual);
// A Content-Type's "type/subtype" lowercased, parameters dropped, nothing else checked: what a
// plugin compares against a list of types (compression) or a known type (request-termination).
std::string media_type_essence(std::string_view content_type);

// Whether an If-None-Match value matches `etag` (weak comparison, `*` matches any).
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace portico::http
