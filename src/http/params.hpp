// Small readers for request parameters: cookies and query arguments.
#pragma once

#include <string>
#include <string_view>

namespace portico::http {

// The value of cookie `name` in a Cookie header (quotes removed), or empty.
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);
// The first value of query argument `name` (raw, not percent-decoded), or empty.
std::string_view query_value(std::string_view query, std::string_view name);

}  // namespace portico::http

namespace portico::http {

// Calls fn(key, value) for each query argument (raw, not percent-decoded); a key without
// '=' has an empty value.
template <typename Fn>
void for_each_query_arg(std::string_view query, Fn fn) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    fn(pair.substr(0, eq), eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
  }
}

// Decodes %XX escapes (and '+' as space when `plus_is_space`, for form bodies and
// queries). False on a malformed escape.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space = true);

// Percent-encodes every byte but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~) and
// those in `also_keep` (a path keeps "/", for instance).
std::string percent_encode(std::string_view value, std::string_view also_keep = {});

// Percent-encodes (uppercase %XX) every byte for which keep(byte) is false.
template <class Keep>
std::string percent_encode_where(std::string_view value, Keep keep) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    if (keep(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The query without every argument whose (decoded) key is `name`.
std::string query_without(std::string_view query, std::string_view name);

}  // namespace portico::http
