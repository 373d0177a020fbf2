#include "http/h1_parser.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace portico::http {
namespace {

constexpr std::array<bool, 256> make_tchar_table() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> make_value_table() {
  std::array<bool, 256> t{};
  t['\t'] = true;
  for (int c = 0x20; c <= 0x7e; ++c) t[c] = true;
  for (int c = 0x80; c <= 0xff; ++c) t[c] = true;  // obs-text
  return t;
}
constexpr auto kTchar = make_tchar_table();
constexpr auto kValueChar = make_value_table();


bool is_hex(char c) { return hex_digit_value(c) >= 0; }

// Finds the end of the line starting at `pos`. Returns the index of '\r' of the CRLF,
// npos when the line is not complete yet, or sets `bad` on a bare CR or LF.
std::size_t find_line_end(std::string_view buf, std::size_t pos, bool& bad) {
  const char* begin = buf.data() + pos;
  const void* lf = std::memchr(begin, '\n', buf.size() - pos);
  if (lf == nullptr) {
    // A CR followed by something other than LF is already a bare CR.
    const void* cr = std::memchr(begin, '\r', buf.size() - pos);
    if (cr != nullptr) {
      std::size_t i = static_cast<const char*>(cr) - buf.data();
      if (i + 1 < buf.size()) bad = true;
    }
    return std::string_view::npos;
  }
  std::size_t i = static_cast<const char*>(lf) - buf.data();
  if (i == pos || buf[i - 1] != '\r') {
    bad = true;  // bare LF
    return std::string_view::npos;
  }
  return i - 1;
}

// Parses "1*DIGIT" into a uint64 with overflow protection.
bool parse_decimal(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

// Result of parsing "HTTP/x.y": 0 ok, 1 malformed, 2 unsupported major version.
int parse_version(std::string_view v, int& minor) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.') return 1;
  char major = v[5], mn = v[7];
  if (major < '0' || major > '9' || mn < '0' || mn > '9') return 1;
  if (major != '1') return 2;
  minor = mn == '0' ? 0 : 1;  // HTTP/1.2+ is answered as 1.1 (RFC 9110 2.5)
  return 0;
}

enum class TargetCheck { ok, bad_character, bad_syntax };

// One pass over a request target: visible ASCII only, no fragment, valid %XX escapes.
TargetCheck check_target(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto u = static_cast<unsigned char>(s[i]);
    if (u <= 0x20 || u >= 0x7f) return TargetCheck::bad_character;
    if (u == '#') return TargetCheck::bad_syntax;
    if (u == '%') {
      if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return TargetCheck::bad_syntax;
      i += 2;
    }
  }
  return TargetCheck::ok;
}

// Splits an origin-form "path?query" (already checked by check_target) into its parts.
bool split_origin_form(std::string_view target, std::string_view& path, std::string_view& query) {
  if (target.empty() || target[0] != '/') return false;
  std::size_t q = target.find('?');
  if (q == std::string_view::npos) {
    path = target;
    query = {};
  } else {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  return true;
}

// Parses header fields starting at `pos` until the empty line. Shared by requests and
// responses. Returns complete with out.head_size set, incomplete, or an error status.
// Scans a field value from `pos` to the CR of its line ending, validating every byte
// (VCHAR, obs-text, SP, HTAB). Sixteen bytes at a time (SSE2, always present on x86-64):
// a mask of "control character or DEL" finds the first byte worth looking at, which is
// usually the CR. Returns the index of the CR, npos when the line is not complete yet,
// or sets `invalid` (control character, bare CR or LF).
std::size_t scan_value(std::string_view buf, std::size_t pos, bool& invalid) {
  const char* const base = buf.data();
  const char* p = base + pos;
  const char* const end = base + buf.size();
  for (;;) {
#if defined(__SSE2__)
    const __m128i limit = _mm_set1_epi8(0x1f);
    const __m128i del = _mm_set1_epi8(0x7f);
    while (end - p >= 16) {
      __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, limit), x);  // x <= 0x1f (unsigned)
      __m128i special = _mm_or_si128(ctl, _mm_cmpeq_epi8(x, del));
      int mask = _mm_movemask_epi8(special);
      if (mask == 0) {
        p += 16;
        continue;
      }
      p += __builtin_ctz(static_cast<unsigned>(mask));
      break;
    }
#endif
    // Byte by byte from the first special byte (or for the short tail).
    for (; p < end; ++p) {
      auto c = static_cast<unsigned char>(*p);
      if (kValueChar[c]) {
        continue;
      }
      if (c == '\r') {
        if (p + 1 == end) return std::string_view::npos;
        if (p[1] != '\n') {
          invalid = true;  // bare CR
          return 0;
        }
        return static_cast<std::size_t>(p - base);
      }
      invalid = true;  // bare LF or a control character
      return 0;
    }
    return std::string_view::npos;
  }
}

ParseOutcome head_too_large(int error_status) {
  return ParseOutcome::error(error_status == 502 ? 502 : 431,
                             error_status == 502 ? "upstream response head too large" : "request header fields too large");
}

// Parses header fields starting at `pos` until the empty line. Shared by requests and
// responses. Returns complete with out.head_size set, incomplete, or an error status.
ParseOutcome parse_fields(std::string_view buf, std::size_t pos, const ParserLimits& limits,
                          int error_status, MessageHead& out) {
  for (;;) {
    if (pos + 2 > buf.size()) {
      if (pos < buf.size() && buf[pos] == '\n') return ParseOutcome::error(error_status, "invalid line ending in header section");
      if (buf.size() > limits.max_head_size) return head_too_large(error_status);
      return ParseOutcome::incomplete();
    }
    char first = buf[pos];
    if (first == '\r') {
      if (buf[pos + 1] != '\n') return ParseOutcome::error(error_status, "invalid line ending in header section");
      out.head_size = pos + 2;
      if (out.head_size > limits.max_head_size) return head_too_large(error_status);
      return ParseOutcome::complete();
    }
    if (first == ' ' || first == '\t') return ParseOutcome::error(error_status, "obsolete line folding is not allowed");
    std::size_t i = pos;
    while (i < buf.size() && kTchar[static_cast<unsigned char>(buf[i])]) ++i;
    if (i == buf.size()) {
      if (buf.size() > limits.max_head_size) return head_too_large(error_status);
      return ParseOutcome::incomplete();
    }
    if (buf[i] != ':') {
      if (buf[i] == ' ' || buf[i] == '\t') return ParseOutcome::error(error_status, "whitespace between header name and colon");
      if (buf[i] == '\n' || buf[i] == '\r') return ParseOutcome::error(error_status, "invalid line ending in header section");
      return ParseOutcome::error(error_status, "invalid header field name");
    }
    if (i == pos) return ParseOutcome::error(error_status, "empty header field name");
    bool invalid = false;
    std::size_t cr = scan_value(buf, i + 1, invalid);
    if (invalid) return ParseOutcome::error(error_status, "invalid character in header field value");
    if (cr == std::string_view::npos) {
      if (buf.size() > limits.max_head_size) return head_too_large(error_status);
      return ParseOutcome::incomplete();
    }
    if (cr + 2 > limits.max_head_size) return head_too_large(error_status);
    if (out.headers.size() >= limits.max_header_count) {
      return ParseOutcome::error(error_status == 502 ? 502 : 431, "too many header fields");
    }
    std::string_view name = buf.substr(pos, i - pos);
    out.headers.push_back({name, trim_ows(buf.substr(i + 1, cr - i - 1)), classify_field(name)});
    pos = cr + 2;
  }
}

// Applies RFC 9112 framing and connection rules common to requests and responses.
// Returns an error outcome or complete.
ParseOutcome apply_framing_policy(MessageHead& m, int error_status, bool is_request,
                                  int& host_count, std::string_view& host,
                                  bool& expect_continue) {
  bool has_cl = false, has_te = false;
  std::uint64_t cl = 0;
  bool saw_close = false, saw_keep_alive = false;
  for (const auto& h : m.headers) {
    switch (h.kind) {
      case FieldKind::content_length: {
        std::uint64_t v = 0;
        if (!parse_decimal(h.value, v)) return ParseOutcome::error(error_status, "invalid Content-Length");
        if (has_cl && v != cl) return ParseOutcome::error(error_status, "conflicting Content-Length values");
        has_cl = true;
        cl = v;
        break;
      }
      case FieldKind::connection: {
        std::string_view rest = h.value;
        while (!rest.empty()) {
          std::size_t comma = rest.find(',');
          std::string_view tok = trim_ows(rest.substr(0, comma));
          rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
          if (tok.empty()) continue;
          for (char c : tok) {
            if (!kTchar[static_cast<unsigned char>(c)]) return ParseOutcome::error(error_status, "invalid Connection header");
          }
          if (iequals(tok, "close")) saw_close = true;
          else if (iequals(tok, "keep-alive")) saw_keep_alive = true;
          else if (iequals(tok, "upgrade")) m.connection_upgrade = true;
          else m.connection_tokens.push_back(tok);
        }
        break;
      }
      case FieldKind::transfer_encoding:
        if (has_te) return ParseOutcome::error(error_status, "repeated Transfer-Encoding");
        has_te = true;
        if (!iequals(h.value, "chunked")) {
          return ParseOutcome::error(is_request ? 501 : error_status, "unsupported transfer coding (only a single 'chunked' is accepted)");
        }
        break;
      case FieldKind::host:
        if (is_request) {
          ++host_count;
          host = h.value;
        }
        break;
      case FieldKind::expect:
        if (is_request) {
          if (!iequals(h.value, "100-continue")) return ParseOutcome::error(417, "unsupported expectation");
          expect_continue = true;
        }
        break;
      default:
        break;
    }
  }
  if (has_te && has_cl) return ParseOutcome::error(error_status, "both Content-Length and Transfer-Encoding present");
  if (has_te && m.version_minor == 0) return ParseOutcome::error(error_status, "Transfer-Encoding in an HTTP/1.0 message");
  m.keep_alive = m.version_minor == 1 ? !saw_close : (saw_keep_alive && !saw_close);
  m.has_content_length = has_cl;
  if (has_te) {
    m.framing = BodyFraming::chunked;
  } else if (has_cl) {
    m.content_length = cl;
    m.framing = cl == 0 ? BodyFraming::none : BodyFraming::content_length;
  } else {
    m.framing = BodyFraming::none;
  }
  return ParseOutcome::complete();
}

}  // namespace

bool is_tchar(unsigned char c) { return kTchar[c]; }

FieldKind classify_field(std::string_view n) {
  switch (n.size()) {
    case 2: return iequals(n, "te") ? FieldKind::te : FieldKind::other;
    case 3: return iequals(n, "via") ? FieldKind::via : FieldKind::other;
    case 4: return iequals(n, "host") ? FieldKind::host : FieldKind::other;
    case 6: return iequals(n, "expect") ? FieldKind::expect : FieldKind::other;
    case 7:
      if (iequals(n, "trailer")) return FieldKind::trailer;
      return iequals(n, "upgrade") ? FieldKind::upgrade : FieldKind::other;
    case 9: return iequals(n, "x-real-ip") ? FieldKind::x_real_ip : FieldKind::other;
    case 10:
      if (iequals(n, "connection")) return FieldKind::connection;
      return iequals(n, "keep-alive") ? FieldKind::keep_alive : FieldKind::other;
    case 14: return iequals(n, "content-length") ? FieldKind::content_length : FieldKind::other;
    case 16:
      if (iequals(n, "proxy-connection")) return FieldKind::proxy_connection;
      if (iequals(n, "x-forwarded-host")) return FieldKind::x_forwarded_host;
      if (iequals(n, "x-forwarded-port")) return FieldKind::x_forwarded_port;
      break;
    case 17:
      if (iequals(n, "transfer-encoding")) return FieldKind::transfer_encoding;
      if (iequals(n, "x-forwarded-proto")) return FieldKind::x_forwarded_proto;
      break;
    case 15:
      if (iequals(n, "x-forwarded-for")) return FieldKind::x_forwarded_for;
      break;
    case 18:
      if (iequals(n, "x-forwarded-prefix")) return FieldKind::x_forwarded_prefix;
      break;
    default:
      break;
  }
  if (n.size() > 12 && iequals(n.substr(0, 12), "x-forwarded-")) return FieldKind::x_forwarded_other;
  return FieldKind::other;
}
bool is_field_value_char(unsigned char c) { return kValueChar[c]; }

std::string_view MessageHead::find(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return {};
}


bool is_valid_authority(std::string_view a) {
  if (a.empty()) return false;
  std::string_view host = a, port;
  if (a[0] == '[') {
    std::size_t close = a.find(']');
    if (close == std::string_view::npos) return false;
    for (char c : a.substr(1, close - 1)) {
      if (!(is_hex(c) || c == ':' || c == '.')) return false;
    }
    host = a.substr(0, close + 1);
    std::string_view rest = a.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
  } else {
    std::size_t colon = a.rfind(':');
    if (colon != std::string_view::npos) {
      host = a.substr(0, colon);
      port = a.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty()) return false;
    for (char c : host) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '~' || c == '%' || c == '!' || c == '$' ||
                c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' || c == ',' ||
                c == ';' || c == '=';
      if (!ok) return false;
    }
  }
  if (!port.empty()) {
    if (port.size() > 5) return false;
    std::uint64_t p = 0;
    if (!parse_decimal(port, p) || p > 65535) return false;
  }
  return true;
}

ParseOutcome parse_request_head(std::string_view buf, const ParserLimits& limits, RequestHead& out) {
  out.clear();
  std::size_t pos = 0;
  // RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request line.
  for (int skipped = 0; skipped < 4 && buf.size() - pos >= 2 && buf[pos] == '\r' && buf[pos + 1] == '\n'; ++skipped) {
    pos += 2;
  }
  bool bad = false;
  std::size_t end = find_line_end(buf, pos, bad);
  if (bad) return ParseOutcome::error(400, "invalid line ending in request line");
  if (end == std::string_view::npos) {
    if (buf.size() - pos > limits.max_request_line) return ParseOutcome::error(414, "request URI too long");
    return ParseOutcome::incomplete();
  }
  if (end - pos > limits.max_request_line) return ParseOutcome::error(414, "request URI too long");
  std::string_view line = buf.substr(pos, end - pos);

  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return ParseOutcome::error(400, "malformed request line");
  out.method = line.substr(0, sp1);
  for (char c : out.method) {
    if (!kTchar[static_cast<unsigned char>(c)]) return ParseOutcome::error(400, "invalid method");
  }
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return ParseOutcome::error(400, "malformed request line");
  out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  TargetCheck target_check = check_target(out.target);
  if (target_check == TargetCheck::bad_character) return ParseOutcome::error(400, "invalid character in request target");
  std::string_view version = line.substr(sp2 + 1);
  int vr = parse_version(version, out.version_minor);
  if (vr == 1) return ParseOutcome::error(400, "malformed HTTP version");
  if (vr == 2) return ParseOutcome::error(505, "HTTP version not supported");
  if (target_check == TargetCheck::bad_syntax) return ParseOutcome::error(400, "invalid request target");

  std::string_view absolute_authority;
  if (out.target[0] == '/') {
    if (!split_origin_form(out.target, out.path, out.query)) return ParseOutcome::error(400, "invalid request target");
  } else if (out.target == "*") {
    if (out.method != "OPTIONS") return ParseOutcome::error(400, "invalid request target");
    out.path = out.target;
  } else {
    // absolute-form: scheme "://" authority [path-abempty] ["?" query]
    std::size_t scheme_end = out.target.find("://");
    if (scheme_end == std::string_view::npos) {
      if (out.method == "CONNECT") return ParseOutcome::error(405, "CONNECT is not supported");
      return ParseOutcome::error(400, "invalid request target");
    }
    std::string_view scheme = out.target.substr(0, scheme_end);
    if (!iequals(scheme, "http") && !iequals(scheme, "https")) return ParseOutcome::error(400, "invalid request target");
    std::string_view rest = out.target.substr(scheme_end + 3);
    std::size_t path_start = rest.find_first_of("/?");
    absolute_authority = rest.substr(0, path_start);
    if (absolute_authority.find('@') != std::string_view::npos || !is_valid_authority(absolute_authority)) {
      return ParseOutcome::error(400, "invalid request target");
    }
    std::string_view path_query = path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
    if (path_query.empty() || path_query[0] == '?') {
      // "http://host" or "http://host?q": the path is "/"; keep the query.
      out.path = "/";
      out.query = path_query.empty() ? std::string_view{} : path_query.substr(1);
    } else if (!split_origin_form(path_query, out.path, out.query)) {
      return ParseOutcome::error(400, "invalid request target");
    }
  }

  ParseOutcome fields = parse_fields(buf, end + 2, limits, 400, out);
  if (fields.state != ParseState::complete) return fields;

  int host_count = 0;
  std::string_view host;
  ParseOutcome policy = apply_framing_policy(out, 400, true, host_count, host, out.expect_continue);
  if (policy.state != ParseState::complete) return policy;
  if (host_count > 1) return ParseOutcome::error(400, "repeated Host header");
  if (out.version_minor == 1 && host_count == 0) return ParseOutcome::error(400, "missing Host header");
  if (host_count == 1 && !is_valid_authority(host)) return ParseOutcome::error(400, "invalid Host header");
  out.host = absolute_authority.empty() ? host : absolute_authority;
  return ParseOutcome::complete();
}

ParseOutcome parse_response_head(std::string_view buf, const ParserLimits& limits,
                                 bool request_method_is_head, ResponseHead& out) {
  out.clear();
  bool bad = false;
  std::size_t end = find_line_end(buf, 0, bad);
  if (bad) return ParseOutcome::error(502, "invalid line ending in upstream status line");
  if (end == std::string_view::npos) {
    if (buf.size() > limits.max_head_size) return ParseOutcome::error(502, "upstream response head too large");
    return ParseOutcome::incomplete();
  }
  std::string_view line = buf.substr(0, end);
  if (line.size() < 12 || line[8] != ' ') return ParseOutcome::error(502, "malformed upstream status line");
  if (parse_version(line.substr(0, 8), out.version_minor) != 0) return ParseOutcome::error(502, "unsupported upstream HTTP version");
  std::string_view code = line.substr(9, 3);
  std::uint64_t status = 0;
  if (!parse_decimal(code, status) || status < 100 || status > 599) return ParseOutcome::error(502, "invalid upstream status code");
  out.status = static_cast<int>(status);
  if (line.size() > 12) {
    if (line[12] != ' ') return ParseOutcome::error(502, "malformed upstream status line");
    out.reason = line.substr(13);
    for (char c : out.reason) {
      if (!kValueChar[static_cast<unsigned char>(c)]) return ParseOutcome::error(502, "invalid upstream reason phrase");
    }
  }
  ParseOutcome fields = parse_fields(buf, end + 2, limits, 502, out);
  if (fields.state == ParseState::error) return ParseOutcome::error(502, fields.message);
  if (fields.state != ParseState::complete) return fields;

  int host_count = 0;
  std::string_view host;
  bool expect = false;
  ParseOutcome policy = apply_framing_policy(out, 502, false, host_count, host, expect);
  if (policy.state != ParseState::complete) return policy;
  bool no_body = request_method_is_head || out.status < 200 || out.status == 204 || out.status == 304;
  if (no_body) {
    out.framing = BodyFraming::none;
  } else if (out.framing == BodyFraming::none && !out.has_content_length) {
    out.framing = BodyFraming::until_close;
    out.keep_alive = false;
  }
  return ParseOutcome::complete();
}

bool is_websocket_handshake(const RequestHead& head) {
  return head.connection_upgrade && head.method == "GET" && head.version_minor == 1 &&
         iequals(head.find("Upgrade"), "websocket");
}

}  // namespace portico::http
