#include "obs/log_format.hpp"

#include <unistd.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "crypto/base64.hpp"

namespace portico::obs {

enum class LogFormat::Var : std::uint8_t {
  literal,
  remote_addr, remote_user, time_local, time_iso8601, msec,
  request, request_method, request_uri, uri, args, server_protocol, host, server_port, scheme,
  status, bytes_sent, body_bytes_sent, request_time, http_header,
  upstream_addr, upstream_status, upstream_connect_time, upstream_header_time, upstream_response_time,
  route, service, consumer, request_id, connection_requests, pid,
};

namespace {

struct Preset {
  std::string_view name;
  std::string_view spec;
};

constexpr std::string_view kCombined =
    R"($remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent")";

constexpr std::array<Preset, 3> kPresets{{
    {"combined", kCombined},
    {"portico",
     R"($remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" )"
     R"(route=$route upstream=$upstream_addr upstream_status=$upstream_status request_time=$request_time )"
     R"(upstream_time=$upstream_header_time request_id=$request_id)"},
    {"json",
     R"(escape=json {"time":"$time_iso8601","request_id":"$request_id","remote_addr":"$remote_addr",)"
     R"("remote_user":"$remote_user","method":"$request_method","uri":"$request_uri","protocol":"$server_protocol",)"
     R"("host":"$host","status":$status,"bytes_sent":$bytes_sent,"body_bytes_sent":$body_bytes_sent,)"
     R"("request_time":$request_time,"referer":"$http_referer","user_agent":"$http_user_agent",)"
     R"("route":"$route","service":"$service","consumer":"$consumer","upstream_addr":"$upstream_addr",)"
     R"("upstream_status":"$upstream_status","upstream_connect_time":"$upstream_connect_time",)"
     R"("upstream_header_time":"$upstream_header_time","upstream_response_time":"$upstream_response_time"})"},
}};

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// nginx's $http_user_agent names the User-Agent field: lower case, '_' for '-'.
std::string header_name_of(std::string_view variable_suffix) {
  std::string name(variable_suffix);
  for (char& c : name) {
    if (c == '_') c = '-';
    else if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return name;
}

std::string_view find_header(const http::RequestHead* request, std::string_view name) {
  return request == nullptr ? std::string_view{} : request->find(name);
}

// The user name of Basic credentials, as nginx's $remote_user (empty when none).
std::string basic_user(const http::RequestHead* request) {
  std::string_view auth = find_header(request, "authorization");
  constexpr std::string_view kBasic = "basic ";
  if (auth.size() <= kBasic.size() || !http::iequals(auth.substr(0, kBasic.size()), kBasic)) return {};
  std::string decoded;
  if (!crypto::base64_decode(http::trim_ows(auth.substr(kBasic.size())), decoded)) return {};
  auto colon = decoded.find(':');
  return colon == std::string::npos ? std::string{} : decoded.substr(0, colon);
}

// Decimal digits of `value` at `at` (room for 20); returns the end. Values below 1000 (statuses,
// whole seconds) are the common case and skip to_chars' digit counting.
char* write_decimal(char* at, std::uint64_t value) {
  if (value < 10) {
    *at = static_cast<char>('0' + value);
    return at + 1;
  }
  if (value < 1000) {
    if (value >= 100) *at++ = static_cast<char>('0' + value / 100);
    at[0] = static_cast<char>('0' + value % 100 / 10);
    at[1] = static_cast<char>('0' + value % 10);
    return at + 2;
  }
  return std::to_chars(at, at + 20, value).ptr;
}

void append_number(LineBuffer& out, std::uint64_t value) {
  char* at = out.room(20);
  out.commit(static_cast<std::size_t>(write_decimal(at, value) - at));
}

// Seconds with millisecond resolution ("0.013"), as nginx writes times; integer arithmetic,
// since a printf per value would cost more than the rest of the line.
void append_seconds(LineBuffer& out, double seconds) {
  auto ms = static_cast<std::uint64_t>(seconds < 0 ? 0 : seconds * 1000 + 0.5);
  char* at = out.room(24);
  char* end = write_decimal(at, ms / 1000);
  end[0] = '.';
  end[1] = static_cast<char>('0' + ms % 1000 / 100);
  end[2] = static_cast<char>('0' + ms % 100 / 10);
  end[3] = static_cast<char>('0' + ms % 10);
  out.commit(static_cast<std::size_t>(end + 4 - at));
}

// Wall-clock seconds from the kernel's coarse clock (updated every tick, a few ms): no
// clock-source read, which costs far more under some hypervisors, and whole seconds are all
// $time_local and $time_iso8601 show.
std::time_t coarse_seconds_now() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return now.tv_sec;
}

}  // namespace

// Time texts change once a second: each thread keeps the last ones.
struct LogFormat::Clock {
  std::time_t second = -1;
  std::string local, iso8601;

  void refresh(std::time_t now) {
    if (now == second) return;
    second = now;
    std::tm tm{};
    localtime_r(&now, &tm);
    long offset = tm.tm_gmtoff;
    char sign = offset < 0 ? '-' : '+';
    if (offset < 0) offset = -offset;
    char zone[40], colon_zone[40], buf[64];
    std::snprintf(zone, sizeof zone, "%c%02ld%02ld", sign, offset / 3600, (offset % 3600) / 60);
    std::snprintf(colon_zone, sizeof colon_zone, "%c%02ld:%02ld", sign, offset / 3600, (offset % 3600) / 60);
    std::strftime(buf, sizeof buf, "%d/%b/%Y:%H:%M:%S ", &tm);
    local = std::string(buf) + zone;
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    iso8601 = std::string(buf) + colon_zone;
  }
};

std::shared_ptr<const LogFormat> LogFormat::compile(std::string_view spec, std::string& error) {
  for (const auto& preset : kPresets) {
    if (spec == preset.name) spec = preset.spec;
  }
  auto format = std::make_shared<LogFormat>();
  constexpr std::string_view kEscape = "escape=";
  if (spec.substr(0, kEscape.size()) == kEscape) {
    std::size_t space = spec.find(' ');
    std::string_view mode = spec.substr(kEscape.size(), space == std::string_view::npos ? spec.npos : space - kEscape.size());
    if (mode == "json") format->escape_ = LogEscape::json;
    else if (mode == "none") format->escape_ = LogEscape::none;
    else if (mode != "default") {
      error = "access log format: unknown escape '" + std::string(mode) + "' (default, json or none)";
      return nullptr;
    }
    spec = space == std::string_view::npos ? std::string_view{} : spec.substr(space + 1);
  }
  static const std::array<std::pair<std::string_view, Var>, 30> kNames{{
      {"remote_addr", Var::remote_addr}, {"remote_user", Var::remote_user}, {"time_local", Var::time_local},
      {"time_iso8601", Var::time_iso8601}, {"msec", Var::msec}, {"request", Var::request},
      {"request_method", Var::request_method}, {"request_uri", Var::request_uri}, {"uri", Var::uri},
      {"args", Var::args}, {"query_string", Var::args}, {"server_protocol", Var::server_protocol},
      {"host", Var::host}, {"server_port", Var::server_port}, {"scheme", Var::scheme}, {"status", Var::status},
      {"bytes_sent", Var::bytes_sent}, {"body_bytes_sent", Var::body_bytes_sent},
      {"request_time", Var::request_time}, {"upstream_addr", Var::upstream_addr},
      {"upstream_status", Var::upstream_status}, {"upstream_connect_time", Var::upstream_connect_time},
      {"upstream_header_time", Var::upstream_header_time}, {"upstream_response_time", Var::upstream_response_time},
      {"route", Var::route}, {"service", Var::service}, {"consumer", Var::consumer},
      {"request_id", Var::request_id}, {"connection_requests", Var::connection_requests}, {"pid", Var::pid},
  }};
  std::string literal;
  // A token whose text (a literal, a header's name) follows the others in literals_.
  auto push_with_text = [&](Var var, std::string_view text) {
    format->tokens_.push_back({var, static_cast<std::uint32_t>(format->literals_.size()), static_cast<std::uint32_t>(text.size())});
    format->literals_ += text;
  };
  auto flush_literal = [&] {
    if (literal.empty()) return;
    push_with_text(Var::literal, literal);
    literal.clear();
  };
  for (std::size_t i = 0; i < spec.size();) {
    if (spec[i] != '$') {
      literal += spec[i++];
      continue;
    }
    std::string_view name;
    if (i + 1 < spec.size() && spec[i + 1] == '{') {
      std::size_t close = spec.find('}', i + 2);
      if (close == std::string_view::npos) {
        error = "access log format: '${' without its '}'";
        return nullptr;
      }
      name = spec.substr(i + 2, close - i - 2);
      i = close + 1;
    } else {
      std::size_t end = i + 1;
      while (end < spec.size() && is_name_char(spec[end])) ++end;
      name = spec.substr(i + 1, end - i - 1);
      i = end;
    }
    if (name.empty()) {
      error = "access log format: '$' without a variable name (write the variable's name after it)";
      return nullptr;
    }
    flush_literal();
    // nginx's $content_type and $content_length are the request's fields.
    if (name == "content_type" || name == "content_length") {
      push_with_text(Var::http_header, header_name_of(name));
      continue;
    }
    if (name.substr(0, 5) == "http_" && name.size() > 5) {
      push_with_text(Var::http_header, header_name_of(name.substr(5)));
      continue;
    }
    bool known = false;
    for (const auto& [n, v] : kNames) {
      if (n == name) {
        format->tokens_.push_back({v, 0, 0});
        known = true;
        break;
      }
    }
    if (!known) {
      error = "access log format: unknown variable '$" + std::string(name) +
              "' (see docs/operations.md for the variables Portico knows)";
      return nullptr;
    }
  }
  flush_literal();
  format->literals_.append(kLiteralPadding, '\0');  // short literals are copied kLiteralPadding bytes at a time
  return format;
}

[[gnu::always_inline]] inline void LogFormat::append_trusted(LineBuffer& out, std::string_view value) const {
  if (value.empty()) {
    if (escape_ != LogEscape::json) out.append('-');
    return;
  }
  out.append(value);
}

[[gnu::always_inline]] inline void LogFormat::append_text(LineBuffer& out, std::string_view value) const {
  if (value.empty()) {
    if (escape_ != LogEscape::json) out.append('-');  // nginx: a missing value is "-" (nothing in JSON)
    return;
  }
  append_escaped(out, value, escape_);
}

namespace {

// A captured record's values, written by the worker and read back by the log writer in the same
// process: native byte order, no alignment (memcpy), texts as a 32-bit length and their bytes.
template <typename T>
[[gnu::always_inline]] inline void put(LineBuffer& out, T value) {
  std::memcpy(out.room(sizeof value), &value, sizeof value);
  out.commit(sizeof value);
}

[[gnu::always_inline]] inline void put_text(LineBuffer& out, std::string_view text) {
  auto size = static_cast<std::uint32_t>(text.size());
  char* at = out.room(sizeof size + text.size());
  std::memcpy(at, &size, sizeof size);
  if (size != 0) std::memcpy(at + sizeof size, text.data(), text.size());  // an empty view's data() may be null
  out.commit(sizeof size + text.size());
}

// The request's protocol as captured: 0 none, 1 HTTP/1.0, 2 HTTP/1.1, 3 HTTP/2.0.
std::uint8_t protocol_of(const AccessRecord& r) {
  if (r.request == nullptr) return 0;
  if (r.http2) return 3;
  return r.request->version_minor == 0 ? 1 : 2;
}

}  // namespace

struct LogFormat::Reader {
  const char* at;
  const char* end;

  template <typename T>
  T get() {
    T value{};
    if (static_cast<std::size_t>(end - at) >= sizeof value) std::memcpy(&value, at, sizeof value);
    at += sizeof value;
    return value;
  }
  std::string_view text() {
    auto size = get<std::uint32_t>();
    if (at > end || static_cast<std::size_t>(end - at) < size) return {};
    std::string_view value(at, size);
    at += size;
    return value;
  }
};

// Inlined into capture(): a call per variable cost more than most variables' own work.
[[gnu::always_inline]] inline void LogFormat::capture_value(LineBuffer& out, const Token& token, const AccessRecord& r) const {
  const http::RequestHead* req = r.request;
  auto put_tries = [&](auto value_of) {
    put(out, static_cast<std::uint32_t>(r.tries.size()));
    for (const auto& t : r.tries) value_of(t);
  };
  switch (token.var) {
    case Var::literal:
    case Var::pid: return;  // nothing to keep
    case Var::scheme: put(out, static_cast<std::uint8_t>(r.https)); return;
    case Var::remote_addr: put_text(out, r.client_ip); return;
    case Var::remote_user: put_text(out, basic_user(req)); return;
    case Var::msec: put(out, std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()); return;
    case Var::time_local:
    case Var::time_iso8601: put(out, static_cast<std::int64_t>(coarse_seconds_now())); return;
    case Var::request: {
      // A request line only when there was one (a request refused before its method: "-").
      std::uint8_t protocol = req == nullptr || req->method.empty() ? 0 : protocol_of(r);
      put(out, protocol);
      if (protocol != 0) {
        put_text(out, req->method);
        put_text(out, req->target);
      }
      return;
    }
    case Var::request_method: put_text(out, req ? req->method : std::string_view{}); return;
    case Var::request_uri: put_text(out, req ? req->target : std::string_view{}); return;
    case Var::uri: put_text(out, r.uri); return;
    case Var::args: put_text(out, req ? req->query : std::string_view{}); return;
    case Var::server_protocol: put(out, protocol_of(r)); return;
    case Var::host: put_text(out, req ? http::host_without_port(req->host) : std::string_view{}); return;
    case Var::server_port: put_text(out, r.server_port); return;
    case Var::status: put(out, static_cast<std::uint64_t>(r.status)); return;
    case Var::bytes_sent: put(out, r.bytes_sent); return;
    case Var::body_bytes_sent: put(out, r.body_bytes_sent); return;
    case Var::request_time: put(out, r.request_time); return;
    case Var::http_header: put_text(out, find_header(req, text_of(token))); return;
    case Var::upstream_addr: put_tries([&](const UpstreamTry& t) { put_text(out, t.address); }); return;
    case Var::upstream_status: put_tries([&](const UpstreamTry& t) { put(out, static_cast<std::int32_t>(t.status)); }); return;
    case Var::upstream_connect_time: put_tries([&](const UpstreamTry& t) { put(out, t.connect_time); }); return;
    case Var::upstream_header_time: put_tries([&](const UpstreamTry& t) { put(out, t.header_time); }); return;
    case Var::upstream_response_time: put_tries([&](const UpstreamTry& t) { put(out, t.response_time); }); return;
    case Var::route: put_text(out, r.route); return;
    case Var::service: put_text(out, r.service); return;
    case Var::consumer: put_text(out, r.consumer); return;
    case Var::request_id: put_text(out, r.request_id); return;
    case Var::connection_requests: put(out, r.connection_requests); return;
  }
}

void LogFormat::capture(LineBuffer& out, const AccessRecord& record) const {
  // The record's size first (filled in at the end), so the writer can walk records.
  const std::size_t start = out.size();
  put(out, std::uint32_t{0});
  for (const auto& token : tokens_) {
    if (token.var != Var::literal) capture_value(out, token, record);
  }
  auto size = static_cast<std::uint32_t>(out.size() - start - sizeof(std::uint32_t));
  std::memcpy(out.data() + start, &size, sizeof size);
}

// Inlined into render_captured(), as capture_value() into capture().
[[gnu::always_inline]] inline void LogFormat::render_value(LineBuffer& out, const Token& token, Reader& in, Clock& clock) const {
  // $upstream_* lists: one value per try, ", "-separated; "-" when there was none.
  auto list_tries = [&](auto value_of) {
    auto count = in.get<std::uint32_t>();
    if (count == 0) {
      append_text(out, {});
      return;
    }
    for (std::uint32_t i = 0; i < count && in.at < in.end; ++i) {
      if (i > 0) out.append(", ");
      value_of();
    }
  };
  auto seconds_or_dash = [&](double seconds) {
    if (seconds < 0) out.append('-');
    else append_seconds(out, seconds);
  };
  auto protocol_text = [](std::uint8_t protocol) {
    static constexpr std::string_view kProtocols[] = {{}, "HTTP/1.0", "HTTP/1.1", "HTTP/2.0"};
    return protocol < std::size(kProtocols) ? kProtocols[protocol] : std::string_view{};
  };
  switch (token.var) {
    case Var::literal: return;  // render_captured() copies literals
    case Var::remote_addr:
    case Var::request_id: append_trusted(out, in.text()); return;
    case Var::remote_user:
    case Var::request_method:
    case Var::request_uri:
    case Var::uri:
    case Var::args:
    case Var::host:
    case Var::server_port:
    case Var::http_header:
    case Var::route:
    case Var::service:
    case Var::consumer: append_text(out, in.text()); return;
    case Var::msec: append_seconds(out, in.get<double>()); return;
    case Var::time_local:
    case Var::time_iso8601:
      clock.refresh(static_cast<std::time_t>(in.get<std::int64_t>()));
      out.append(token.var == Var::time_local ? clock.local : clock.iso8601);
      return;
    case Var::request: {
      auto protocol = in.get<std::uint8_t>();
      if (protocol == 0) {
        append_text(out, {});
        return;
      }
      append_text(out, in.text());
      out.append(' ');
      append_text(out, in.text());
      out.append(' ');
      out.append(protocol_text(protocol));
      return;
    }
    case Var::server_protocol: append_text(out, protocol_text(in.get<std::uint8_t>())); return;
    case Var::scheme: out.append(in.get<std::uint8_t>() != 0 ? "https" : "http"); return;
    case Var::status:
    case Var::bytes_sent:
    case Var::body_bytes_sent:
    case Var::connection_requests: append_number(out, in.get<std::uint64_t>()); return;
    case Var::request_time: append_seconds(out, in.get<double>()); return;
    case Var::upstream_addr: list_tries([&] { append_trusted(out, in.text()); }); return;
    case Var::upstream_status:
      list_tries([&] {
        auto status = in.get<std::int32_t>();
        if (status == 0) out.append('-');
        else append_number(out, static_cast<std::uint64_t>(status));
      });
      return;
    case Var::upstream_connect_time:
    case Var::upstream_header_time:
    case Var::upstream_response_time: list_tries([&] { seconds_or_dash(in.get<double>()); }); return;
    case Var::pid: append_number(out, static_cast<std::uint64_t>(::getpid())); return;
  }
}

std::size_t LogFormat::render_captured(LineBuffer& out, std::string_view records) const {
  thread_local Clock clock;
  std::size_t lines = 0;
  Reader all{records.data(), records.data() + records.size()};
  while (static_cast<std::size_t>(all.end - all.at) >= sizeof(std::uint32_t)) {
    auto size = all.get<std::uint32_t>();
    if (static_cast<std::size_t>(all.end - all.at) < size) break;  // cannot happen: capture() wrote it whole
    Reader in{all.at, all.at + size};
    all.at += size;
    for (const auto& token : tokens_) {
      if (token.var != Var::literal) {
        render_value(out, token, in, clock);
      } else if (token.size <= kLiteralPadding) {
        // A fixed-size copy (two vector moves) instead of a call to memcpy.
        std::memcpy(out.room(kLiteralPadding), literals_.data() + token.offset, kLiteralPadding);
        out.commit(token.size);
      } else {
        out.append(text_of(token));
      }
    }
    out.append('\n');
    ++lines;
  }
  return lines;
}

void LogFormat::render(LineBuffer& out, const AccessRecord& record) const {
  thread_local LineBuffer captured;
  captured.clear();
  capture(captured, record);
  render_captured(out, captured.view());
}

}  // namespace portico::obs
