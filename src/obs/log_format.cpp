#include "obs/log_format.hpp"

#include <unistd.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
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

void append_number(std::string& out, std::uint64_t value) {
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  out.append(buf, static_cast<std::size_t>(end - buf));
}

// Seconds with millisecond resolution ("0.013"), as nginx writes times; integer arithmetic,
// since a printf per value would cost more than the rest of the line.
void append_seconds(std::string& out, double seconds) {
  auto ms = static_cast<std::uint64_t>(seconds < 0 ? 0 : seconds * 1000 + 0.5);
  append_number(out, ms / 1000);
  char frac[4] = {'.', static_cast<char>('0' + ms % 1000 / 100), static_cast<char>('0' + ms % 100 / 10),
                  static_cast<char>('0' + ms % 10)};
  out.append(frac, 4);
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
  auto flush_literal = [&] {
    if (!literal.empty()) format->tokens_.push_back({Var::literal, std::move(literal)});
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
      format->tokens_.push_back({Var::http_header, header_name_of(name)});
      continue;
    }
    if (name.substr(0, 5) == "http_" && name.size() > 5) {
      format->tokens_.push_back({Var::http_header, header_name_of(name.substr(5))});
      continue;
    }
    bool known = false;
    for (const auto& [n, v] : kNames) {
      if (n == name) {
        format->tokens_.push_back({v, {}});
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
  return format;
}

void LogFormat::append_trusted(std::string& out, std::string_view value) const {
  if (value.empty()) {
    if (escape_ != LogEscape::json) out += '-';
    return;
  }
  out.append(value);
}

void LogFormat::append_text(std::string& out, std::string_view value) const {
  if (value.empty()) {
    if (escape_ != LogEscape::json) out += '-';  // nginx: a missing value is "-" (nothing in JSON)
    return;
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  switch (escape_) {
    case LogEscape::none:
      out.append(value);
      return;
    case LogEscape::json: {
      std::size_t run = 0;
      for (std::size_t i = 0; i < value.size(); ++i) {
        char c = value[i];
        auto u = static_cast<unsigned char>(c);
        if (c != '"' && c != '\\' && u >= 0x20) continue;
        out.append(value.data() + run, i - run);
        run = i + 1;
        if (c == '"' || c == '\\') out.append(1, '\\').append(1, c);
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else out.append("\\u00").append(1, kHex[u >> 4]).append(1, kHex[u & 15]);
      }
      out.append(value.data() + run, value.size() - run);
      return;
    }
    case LogEscape::standard: {
      // nginx's default: '"', '\\' and bytes outside printable ASCII as \xHH. Runs that need
      // no escaping (nearly every value) are appended whole.
      static constexpr auto kEscaped = [] {
        std::array<bool, 256> escaped{};
        for (int c = 0; c < 256; ++c) escaped[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x7F;
        return escaped;
      }();
      std::size_t run = 0;
      for (std::size_t i = 0; i < value.size(); ++i) {
        auto u = static_cast<unsigned char>(value[i]);
        if (!kEscaped[u]) continue;
        out.append(value.data() + run, i - run);
        out.append("\\x").append(1, kHex[u >> 4]).append(1, kHex[u & 15]);
        run = i + 1;
      }
      out.append(value.data() + run, value.size() - run);
      return;
    }
  }
}

void LogFormat::render(std::string& out, const AccessRecord& record) const {
  thread_local Clock clock;
  for (const auto& token : tokens_) {
    if (token.var == Var::literal) out.append(token.text);
    else render_value(out, token, record, clock);
  }
  out += '\n';
}

void LogFormat::render_value(std::string& out, const Token& token, const AccessRecord& r, Clock& clock) const {
  const http::RequestHead* req = r.request;
  // $upstream_* lists: one value per try, ", "-separated; "-" when there was none.
  auto list_tries = [&](auto value_of) {
    if (r.tries.empty()) {
      append_text(out, {});
      return;
    }
    for (std::size_t i = 0; i < r.tries.size(); ++i) {
      if (i > 0) out.append(", ");
      value_of(r.tries[i]);
    }
  };
  auto seconds_or_dash = [&](double seconds) {
    if (seconds < 0) out += '-';
    else append_seconds(out, seconds);
  };
  switch (token.var) {
    case Var::literal: out.append(token.text); return;
    case Var::remote_addr: append_trusted(out, r.client_ip); return;
    case Var::remote_user: append_text(out, basic_user(req)); return;
    case Var::time_local:
    case Var::time_iso8601:
    case Var::msec: {
      auto now = std::chrono::system_clock::now();
      if (token.var == Var::msec) {
        append_seconds(out, std::chrono::duration<double>(now.time_since_epoch()).count());
        return;
      }
      clock.refresh(std::chrono::system_clock::to_time_t(now));
      out.append(token.var == Var::time_local ? clock.local : clock.iso8601);
      return;
    }
    case Var::request:
      if (req == nullptr || req->method.empty()) {
        append_text(out, {});
        return;
      }
      append_text(out, req->method);
      out += ' ';
      append_text(out, req->target);
      out.append(req->version_minor == 0 ? " HTTP/1.0" : " HTTP/1.1");
      return;
    case Var::request_method: append_text(out, req ? req->method : std::string_view{}); return;
    case Var::request_uri: append_text(out, req ? req->target : std::string_view{}); return;
    case Var::uri: append_text(out, r.uri); return;
    case Var::args: append_text(out, req ? req->query : std::string_view{}); return;
    case Var::server_protocol:
      append_text(out, req == nullptr ? std::string_view{} : req->version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1");
      return;
    case Var::host: append_text(out, req ? http::host_without_port(req->host) : std::string_view{}); return;
    case Var::server_port: append_text(out, r.server_port); return;
    case Var::scheme: out.append("http"); return;
    case Var::status: append_number(out, static_cast<std::uint64_t>(r.status)); return;
    case Var::bytes_sent: append_number(out, r.bytes_sent); return;
    case Var::body_bytes_sent: append_number(out, r.body_bytes_sent); return;
    case Var::request_time: append_seconds(out, r.request_time); return;
    case Var::http_header: append_text(out, find_header(req, token.text)); return;
    case Var::upstream_addr: list_tries([&](const UpstreamTry& t) { append_trusted(out, t.address); }); return;
    case Var::upstream_status:
      list_tries([&](const UpstreamTry& t) {
        if (t.status == 0) out += '-';
        else append_number(out, static_cast<std::uint64_t>(t.status));
      });
      return;
    case Var::upstream_connect_time: list_tries([&](const UpstreamTry& t) { seconds_or_dash(t.connect_time); }); return;
    case Var::upstream_header_time: list_tries([&](const UpstreamTry& t) { seconds_or_dash(t.header_time); }); return;
    case Var::upstream_response_time:
      list_tries([&](const UpstreamTry& t) { seconds_or_dash(t.response_time); });
      return;
    case Var::route: append_text(out, r.route); return;
    case Var::service: append_text(out, r.service); return;
    case Var::consumer: append_text(out, r.consumer); return;
    case Var::request_id: append_trusted(out, r.request_id); return;
    case Var::connection_requests: append_number(out, r.connection_requests); return;
    case Var::pid: append_number(out, static_cast<std::uint64_t>(::getpid())); return;
  }
}

}  // namespace portico::obs
