#include "plugins/openid-connect/cookies.hpp"

#include "http/params.hpp"

namespace portico::plugins::openid_connect {

namespace {

std::string chunk_name(std::string_view name, int index) {
  std::string out(name);
  if (index > 0) out += std::to_string(index + 1);
  return out;
}

void append_attributes(std::string& line, const CookieAttributes& a) {
  line += "; Path=";
  line += a.path;
  if (!a.domain.empty()) line.append("; Domain=").append(a.domain);
  if (a.same_site != "Default") line.append("; SameSite=").append(a.same_site);
  if (a.secure) line += "; Secure";
  if (a.http_only) line += "; HttpOnly";
}

// The cookie `name` when the header has it, even with an empty value (cookie_value cannot
// tell an empty value from an absent cookie).
std::optional<std::string_view> find_cookie(std::string_view headers, std::string_view name) {
  std::string_view v = http::cookie_value(headers, name);
  if (!v.empty()) return v;
  return std::nullopt;
}

}  // namespace

int chunks_for(std::size_t value_size) {
  return value_size == 0 ? 1 : static_cast<int>((value_size + kCookieChunk - 1) / kCookieChunk);
}

std::string set_cookie_lines(std::string_view name, std::string_view value, const CookieAttributes& attributes,
                             int previous_chunks) {
  const int chunks = chunks_for(value.size());
  if (chunks > kMaxCookieChunks) return "";
  std::string out;
  for (int i = 0; i < chunks; ++i) {
    std::string line = "Set-Cookie: " + chunk_name(name, i) + "=";
    line += value.substr(static_cast<std::size_t>(i) * kCookieChunk, kCookieChunk);
    append_attributes(line, attributes);
    out += line + "\r\n";
  }
  for (int i = chunks; i < previous_chunks && i < kMaxCookieChunks; ++i) {
    std::string line = "Set-Cookie: " + chunk_name(name, i) + "=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
    append_attributes(line, attributes);
    out += line + "\r\n";
  }
  return out;
}

std::string clear_cookie_lines(std::string_view name, const CookieAttributes& attributes, int chunks) {
  std::string out;
  for (int i = 0; i < std::max(chunks, 1) && i < kMaxCookieChunks; ++i) {
    std::string line = "Set-Cookie: " + chunk_name(name, i) + "=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
    append_attributes(line, attributes);
    out += line + "\r\n";
  }
  return out;
}

std::optional<std::string_view> read_cookie(std::string_view cookie_headers, std::string_view name, int& chunks,
                                            std::string& joined) {
  chunks = 0;
  auto first = find_cookie(cookie_headers, name);
  if (!first) return std::nullopt;
  chunks = 1;
  // Further chunks only follow a full one: a value shorter than a chunk is the last.
  if (first->size() != static_cast<std::size_t>(kCookieChunk)) return first;
  joined.assign(*first);
  while (chunks < kMaxCookieChunks && joined.size() == static_cast<std::size_t>(chunks) * kCookieChunk) {
    auto next = find_cookie(cookie_headers, chunk_name(name, chunks));
    if (!next) break;
    joined += *next;
    ++chunks;
  }
  return std::string_view(joined);
}

}  // namespace portico::plugins::openid_connect
