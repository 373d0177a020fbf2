// The plugin's cookies on the wire: a sealed value split over `name`, `name2` ... `name9`
// when it is longer than one cookie may be (about 4 KB in browsers, RFC 6265 6.1), as Kong's
// session library does; read back from the request's Cookie header(s).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace portico::plugins::openid_connect {

struct CookieAttributes {
  std::string path = "/";
  std::string domain;            // none: host-only
  std::string same_site = "Lax"; // Strict, Lax, None; "Default": the attribute left out
  bool secure = false;
  bool http_only = true;
};

constexpr std::size_t kCookieChunk = 4000;  // characters of value per cookie
constexpr int kMaxCookieChunks = 9;

// "Set-Cookie: ..." lines (each ending CRLF) for `value` under `name` (chunked), and lines
// expiring the chunks a previous, longer value used (`previous_chunks`). Empty when the value
// needs more than kMaxCookieChunks cookies (the caller refuses such a session).
std::string set_cookie_lines(std::string_view name, std::string_view value, const CookieAttributes& attributes,
                             int previous_chunks = 0);
// Lines expiring `name` and its chunks up to `chunks`.
std::string clear_cookie_lines(std::string_view name, const CookieAttributes& attributes, int chunks);

// How many cookies `value` takes under the chunking above.
int chunks_for(std::size_t value_size);

// The value of `name` from the Cookie header(s) (`cookie_headers`: the header values joined
// with "; "), its chunks `name2`... appended in order; nullopt when absent. `chunks` is set to
// the number of cookies read. A single cookie is a view into `cookie_headers`; chunks are
// joined into `joined`, which the result then views.
std::optional<std::string_view> read_cookie(std::string_view cookie_headers, std::string_view name, int& chunks,
                                            std::string& joined);

}  // namespace portico::plugins::openid_connect
