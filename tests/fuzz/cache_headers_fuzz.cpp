// libFuzzer target: what the proxy cache reads from clients and upstreams: Cache-Control
// directives, HTTP dates, media types, ETag lists, and the query's part of the cache key
// (with its invariant: argument order never changes it). Built by tests/fuzz/run.sh.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/caching.hpp"
#include "plugins/proxy-cache/cache_key.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace portico;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The input's first line is one value, the rest another.
  std::size_t nl = input.find('\n');
  std::string_view first = input.substr(0, nl);
  std::string_view rest = nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);

  http::CacheControl cc = http::parse_cache_control(input);
  if (cc.max_age < -1 || cc.s_maxage < -1 || cc.max_age > 2147483648) __builtin_trap();
  if (auto date = http::parse_http_date(first)) {
    // A date read back from its IMF-fixdate form is the same instant.
    if (http::parse_http_date(http::format_http_date(*date)) != date) __builtin_trap();
  }
  auto expected = http::parse_media_type(first);
  auto actual = http::parse_media_type(rest);
  if (expected && actual) (void)http::media_type_matches(*expected, *actual);
  if (actual && !http::media_type_matches(*actual, *actual)) __builtin_trap();  // a type matches itself
  (void)http::etag_matches(first, rest);

  std::string q = plugins::cache::query_part(first, {});
  // The same arguments in reverse order render the same.
  std::string reversed;
  std::string_view args = first;
  while (!args.empty()) {
    std::size_t amp = args.rfind('&');
    std::string_view last = amp == std::string_view::npos ? args : args.substr(amp + 1);
    if (!reversed.empty()) reversed += '&';
    reversed.append(last);
    args = amp == std::string_view::npos ? std::string_view{} : args.substr(0, amp);
  }
  if (plugins::cache::query_part(reversed, {}) != q) __builtin_trap();
  (void)plugins::cache::query_part(rest, {"a", "b"});
  return 0;
}
