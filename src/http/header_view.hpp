// Non-owning views of parsed HTTP/1 message heads. The views point into the connection's
// read buffer and stay valid until that buffer is compacted (i.e. for one request).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace portico::http {

// Header fields Portico itself acts on, recognised once by the parser so later stages
// (framing policy, hop-by-hop removal, forwarding headers) compare no strings.
enum class FieldKind : std::uint8_t {
  other,
  host,
  content_length,
  transfer_encoding,
  connection,
  expect,
  te,
  trailer,
  upgrade,
  keep_alive,
  proxy_connection,
  via,
  x_forwarded_for,
  x_forwarded_proto,
  x_forwarded_host,
  x_forwarded_port,
  x_forwarded_prefix,
  x_forwarded_other,  // any other X-Forwarded-* (dropped from untrusted peers)
  x_real_ip,
};

// Value of a hexadecimal digit, or -1.
inline int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits a validated authority ("host[:port]", "[v6]:port") into host and port (0 when
// absent). IPv6 literals keep their brackets. (Given one that is not valid, the port is 0
// unless it is a number up to 65535: never an overflow.)
inline void split_authority(std::string_view authority, std::string_view& host, int& port) {
  host = authority;
  port = 0;
  std::size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    host = authority.substr(0, colon);
    for (char c : authority.substr(colon + 1)) {
      if (c < '0' || c > '9' || port > 6553) {
        port = 0;
        break;
      }
      port = port * 10 + (c - '0');
    }
    if (port > 65535) port = 0;
  }
}

// The host part of an authority (for X-Forwarded-Host and redirects).
inline std::string_view host_without_port(std::string_view authority) {
  std::string_view host;
  int port = 0;
  split_authority(authority, host, port);
  return host;
}

// Classifies a field name (case-insensitive).
FieldKind classify_field(std::string_view name);

// Fields about the connection rather than the message: hop-by-hop in HTTP/1.1, forbidden in
// HTTP/2 (RFC 9113 8.2.2).
inline bool is_connection_specific(FieldKind k) {
  switch (k) {
    case FieldKind::transfer_encoding:
    case FieldKind::connection:
    case FieldKind::upgrade:
    case FieldKind::keep_alive:
    case FieldKind::proxy_connection:
      return true;
    default:
      return false;
  }
}

// Hop-by-hop fields (RFC 9110 7.6.1) and framing fields Portico regenerates.
inline bool is_hop_by_hop_or_framing(FieldKind k) {
  return is_connection_specific(k) || k == FieldKind::content_length || k == FieldKind::te || k == FieldKind::trailer;
}

struct HeaderField {
  std::string_view name;
  std::string_view value;
  FieldKind kind = FieldKind::other;
};

// How the body of a message is delimited (RFC 9112 section 6).
enum class BodyFraming {
  none,            // no body
  content_length,  // exactly content_length bytes
  chunked,         // chunked transfer coding
  until_close,     // responses only: body runs until the connection closes
};

// Case-insensitive ASCII comparison; header names are case-insensitive (RFC 9110 5.1).
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x == y) continue;
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

// Without leading and trailing spaces and tabs (HTTP's optional whitespace, RFC 9110 5.6.3).
inline std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// Calls fn(item) for each element of a comma-separated list (RFC 9110 5.6.1: Cache-Control,
// Vary, If-None-Match...), without its surrounding whitespace; empty elements are skipped.
template <typename Fn>
void for_each_list_item(std::string_view list, Fn fn) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = trim_ows(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (!item.empty()) fn(item);
  }
}

// An ASCII-lowercased copy (header names, tokens).
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

// Fields shared by request and response heads.
struct MessageHead {
  int version_minor = 1;  // HTTP/1.x
  std::vector<HeaderField> headers;
  std::size_t head_size = 0;  // bytes of the head including the final CRLF
  BodyFraming framing = BodyFraming::none;
  std::uint64_t content_length = 0;
  bool has_content_length = false;  // a Content-Length field was present (even "0")
  bool keep_alive = true;        // after Connection tokens and version are applied
  bool connection_upgrade = false;
  // Header names listed in Connection (other than close/keep-alive): also hop-by-hop.
  std::vector<std::string_view> connection_tokens;

  // First value of a header, or empty when absent. Linear scan: heads are small.
  std::string_view find(std::string_view name) const;
  // Whether a field of that name is present (even with an empty value).
  bool has(std::string_view name) const {
    for (const auto& h : headers) {
      if (iequals(h.name, name)) return true;
    }
    return false;
  }
  void clear_head() {
    headers.clear();
    connection_tokens.clear();
    head_size = 0;
    framing = BodyFraming::none;
    content_length = 0;
    has_content_length = false;
    keep_alive = true;
    connection_upgrade = false;
    version_minor = 1;
  }
};

// True when `name` is listed in the message's Connection header (then hop-by-hop too).
inline bool named_in_connection(const MessageHead& head, std::string_view name) {
  for (auto token : head.connection_tokens) {
    if (iequals(token, name)) return true;
  }
  return false;
}

struct RequestHead : MessageHead {
  std::string_view method;
  std::string_view target;  // as received (origin-form or absolute-form)
  std::string_view path;    // origin-form path, without the query
  std::string_view query;   // without the '?', empty when absent
  std::string_view host;    // authority host[:port] (from absolute-form target or Host)
  bool expect_continue = false;

  void clear() {
    clear_head();
    method = target = path = query = host = {};
    expect_continue = false;
  }
};

struct ResponseHead : MessageHead {
  int status = 0;
  std::string_view reason;
  void clear() {
    clear_head();
    status = 0;
    reason = {};
  }
};

}  // namespace portico::http
