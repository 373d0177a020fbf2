#include "http/caching.hpp"

#include <charconv>
#include <ctime>

namespace portico::http {
namespace {

std::string_view unquote(std::string_view s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

// Delta-seconds; -1 when not a number (overflow saturates, RFC 9111 1.2.2).
std::int64_t delta_seconds(std::string_view s) {
  s = unquote(trim_ows(s));
  if (s.empty()) return -1;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v > 214748364700 ? 2147483648 : v * 10 + (c - '0');
  }
  return v > 2147483648 ? 2147483648 : v;
}

// Adds the directives of one Cache-Control value to `cc`.
void add_directives(std::string_view value, CacheControl& cc) {
  for_each_list_item(value, [&](std::string_view item) {
    auto eq = item.find('=');
    std::string_view name = trim_ows(item.substr(0, eq));
    std::string_view arg = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
    bool has_arg = eq != std::string_view::npos;
    if (iequals(name, "no-store")) cc.no_store = true;
    // `no-cache="Set-Cookie"` (field names) still forbids reusing without revalidation here.
    else if (iequals(name, "no-cache")) cc.no_cache = true;
    else if (iequals(name, "private")) cc.is_private = true;
    else if (iequals(name, "public")) cc.is_public = true;
    else if (iequals(name, "must-revalidate") || iequals(name, "proxy-revalidate")) cc.must_revalidate = true;
    else if (iequals(name, "only-if-cached")) cc.only_if_cached = true;
    else if (iequals(name, "max-age")) cc.max_age = delta_seconds(arg);
    else if (iequals(name, "s-maxage")) cc.s_maxage = delta_seconds(arg);
    else if (iequals(name, "min-fresh")) cc.min_fresh = delta_seconds(arg);
    else if (iequals(name, "max-stale")) cc.max_stale = has_arg ? delta_seconds(arg) : 365LL * 24 * 3600;
  });
}

}  // namespace

CacheControl parse_cache_control(std::string_view value) {
  CacheControl cc;
  add_directives(value, cc);
  return cc;
}

CacheControl cache_control_of(const MessageHead& head) {
  CacheControl cc;
  for (const auto& h : head.headers) {
    if (iequals(h.name, "cache-control")) add_directives(h.value, cc);
  }
  return cc;
}

namespace {

int month_index(std::string_view m) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (m == kMonths[i]) return i;
  }
  return -1;
}

bool read_int(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

// "HH:MM:SS"
bool read_time(std::string_view s, std::tm& tm) {
  return s.size() == 8 && s[2] == ':' && s[5] == ':' && read_int(s.substr(0, 2), tm.tm_hour) &&
         read_int(s.substr(3, 2), tm.tm_min) && read_int(s.substr(6, 2), tm.tm_sec) && tm.tm_hour < 24 &&
         tm.tm_min < 60 && tm.tm_sec < 61;
}

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    auto start = s.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    s.remove_prefix(start);
    auto end = s.find(' ');
    out.push_back(s.substr(0, end));
    s = end == std::string_view::npos ? std::string_view{} : s.substr(end);
  }
  return out;
}

}  // namespace

std::optional<std::int64_t> parse_http_date(std::string_view text) {
  text = trim_ows(text);
  std::tm tm{};
  auto comma = text.find(',');
  if (comma != std::string_view::npos) {
    auto parts = split_spaces(text.substr(comma + 1));
    if (parts.size() == 5 && parts[4] == "GMT") {  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
      tm.tm_mon = month_index(parts[1]);
      if (!read_int(parts[0], tm.tm_mday) || !read_int(parts[2], tm.tm_year) || !read_time(parts[3], tm)) return std::nullopt;
      tm.tm_year -= 1900;
    } else if (parts.size() == 3 && parts[2] == "GMT" && parts[0].size() == 9) {  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
      std::string_view d = parts[0];
      if (d[2] != '-' || d[6] != '-') return std::nullopt;
      tm.tm_mon = month_index(d.substr(3, 3));
      if (!read_int(d.substr(0, 2), tm.tm_mday) || !read_int(d.substr(7, 2), tm.tm_year) || !read_time(parts[1], tm)) {
        return std::nullopt;
      }
      if (tm.tm_year < 70) tm.tm_year += 100;  // two-digit years: 1970-2069
    } else {
      return std::nullopt;
    }
  } else {  // asctime: Sun Nov  6 08:49:37 1994
    auto parts = split_spaces(text);
    if (parts.size() != 5) return std::nullopt;
    tm.tm_mon = month_index(parts[1]);
    if (!read_int(parts[2], tm.tm_mday) || !read_time(parts[3], tm) || !read_int(parts[4], tm.tm_year)) return std::nullopt;
    tm.tm_year -= 1900;
  }
  if (tm.tm_mon < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_year < 70) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string format_http_date(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

namespace {

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

}  // namespace

std::string media_type_essence(std::string_view content_type) {
  return ascii_lower(trim_ows(content_type.substr(0, content_type.find(';'))));
}

std::optional<MediaType> parse_media_type(std::string_view text) {
  text = trim_ows(text);
  if (text == "*") return MediaType{"*", "*", {}};
  auto semi = text.find(';');
  std::string_view full = trim_ows(text.substr(0, semi));
  auto slash = full.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  MediaType m{ascii_lower(trim_ows(full.substr(0, slash))), ascii_lower(trim_ows(full.substr(slash + 1))), {}};
  if (!is_token(m.type) || !is_token(m.subtype)) return std::nullopt;
  while (semi != std::string_view::npos) {
    text = text.substr(semi + 1);
    semi = text.find(';');
    std::string_view param = trim_ows(text.substr(0, semi));
    auto eq = param.find('=');
    if (eq == std::string_view::npos) return std::nullopt;  // "application/xml;" is not a media type
    std::string name = ascii_lower(trim_ows(param.substr(0, eq)));
    std::string_view value = unquote(trim_ows(param.substr(eq + 1)));
    if (!is_token(name) || value.empty()) return std::nullopt;
    m.params.emplace_back(std::move(name), std::string(value));
  }
  return m;
}

bool media_type_matches(const MediaType& expected, const MediaType& actual) {
  if (expected.type != "*" && expected.type != actual.type) return false;
  if (expected.subtype != "*" && expected.subtype != actual.subtype) return false;
  if (expected.params.size() != actual.params.size()) return false;
  for (const auto& [name, value] : expected.params) {
    bool found = false;
    for (const auto& [n, v] : actual.params) found = found || (n == name && v == value);
    if (!found) return false;
  }
  return true;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  auto strip_weak = [](std::string_view t) {
    t = trim_ows(t);
    if (t.size() > 2 && (t[0] == 'W' || t[0] == 'w') && t[1] == '/') t.remove_prefix(2);
    return t;
  };
  if (trim_ows(if_none_match) == "*") return !etag.empty();
  std::string_view wanted = strip_weak(etag);
  if (wanted.empty()) return false;
  bool matched = false;
  for_each_list_item(if_none_match, [&](std::string_view tag) { matched = matched || strip_weak(tag) == wanted; });
  return matched;
}

}  // namespace portico::http
