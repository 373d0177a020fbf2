#include "obs/log_format.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "http/h1_parser.hpp"

namespace portico::obs {
namespace {

struct Parsed {
  std::string bytes;
  http::RequestHead head;
  explicit Parsed(std::string raw) : bytes(std::move(raw)) {
    auto outcome = http::parse_request_head(bytes, http::ParserLimits{}, head);
    EXPECT_EQ(outcome.state, http::ParseState::complete);
  }
};

std::string render(std::string_view spec, const AccessRecord& r) {
  std::string error;
  auto format = LogFormat::compile(spec, error);
  EXPECT_NE(format, nullptr) << error;
  LineBuffer out;
  if (format) format->render(out, r);
  return std::string(out.view());
}

// The line with its [time] replaced by [T], and that time's shape checked (01/Dec/2026:22:02:41 +0000).
std::string without_time(const std::string& line) {
  auto open = line.find('['), close = line.find(']');
  if (open == std::string::npos || close == std::string::npos) return line;
  std::string time = line.substr(open + 1, close - open - 1);
  EXPECT_EQ(time.size(), 26u) << time;
  EXPECT_TRUE(time.size() == 26 && time[2] == '/' && time[6] == '/' && time[11] == ':' && time[20] == ' ' &&
              (time[21] == '+' || time[21] == '-'))
      << time;
  return line.substr(0, open + 1) + "T" + line.substr(close);
}

std::string compile_error(std::string_view spec) {
  std::string error;
  auto format = LogFormat::compile(spec, error);
  EXPECT_EQ(format, nullptr);
  return error;
}

TEST(LogFormat, CombinedPresetIsNginxCombined) {
  Parsed req("GET /users?id=7 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: curl/7.88\r\n"
             "Authorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n");  // alice:secret
  AccessRecord r;
  r.request = &req.head;
  r.client_ip = "10.0.0.7";
  r.status = 200;
  r.body_bytes_sent = 512;
  EXPECT_EQ(without_time(render("combined", r)),
            "10.0.0.7 - alice [T] \"GET /users?id=7 HTTP/1.1\" 200 512 \"-\" \"curl/7.88\"\n");
}

TEST(LogFormat, TheIssuesGatewayLine) {
  Parsed req("POST /orders HTTP/1.0\r\nReferer: https://shop.example/cart\r\n\r\n");
  AccessRecord r;
  r.request = &req.head;
  r.client_ip = "127.0.0.1";
  r.status = 201;
  r.body_bytes_sent = 17;
  r.request_time = 0.0125;
  UpstreamTry t{"127.0.0.1:9000", 201, 0.0004, 0.010, 0.012};
  r.tries = std::span<const UpstreamTry>(&t, 1);
  std::string line = render(
      R"($remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rt=$request_time uct="$upstream_connect_time")",
      r);
  EXPECT_EQ(without_time(line),
            "127.0.0.1 - - [T] \"POST /orders HTTP/1.0\" 201 17 \"https://shop.example/cart\" \"-\" rt=0.013 uct=\"0.000\"\n");
}

TEST(LogFormat, EveryTryIsListedAsNginxDoes) {
  AccessRecord r;
  UpstreamTry tries[2] = {{"10.0.0.1:80", 502, -1, -1, 0.001}, {"10.0.0.2:80", 200, 0.002, 0.005, 0.007}};
  r.tries = tries;
  EXPECT_EQ(render("$upstream_addr|$upstream_status|$upstream_connect_time|$upstream_header_time|$upstream_response_time", r),
            "10.0.0.1:80, 10.0.0.2:80|502, 200|-, 0.002|-, 0.005|0.001, 0.007\n");
  AccessRecord none;
  EXPECT_EQ(render("$upstream_addr $upstream_status ${upstream_connect_time}", none), "- - -\n");
  // No request at all, and a request refused before its method was read.
  EXPECT_EQ(render("$request $server_protocol $request_method", none), "- - -\n");
  Parsed http10("GET / HTTP/1.0\r\n\r\n");
  http10.head.method = {};
  none.request = &http10.head;
  EXPECT_EQ(render("$request $server_protocol $request_method", none), "- HTTP/1.0 -\n");
}

// The worker captures records into one buffer; the log writer renders them later, many at a
// time, after the request's memory is gone: every line must be the one rendered at once.
TEST(LogFormat, CapturedRecordsRenderAsTheirLinesAfterTheRequestIsGone) {
  std::string error;
  auto format = LogFormat::compile("json", error);
  ASSERT_NE(format, nullptr) << error;
  auto portico = LogFormat::compile("portico", error);
  ASSERT_NE(portico, nullptr) << error;
  for (const auto* f : {format.get(), portico.get()}) {
    LineBuffer captured, expected;
    for (int i = 0; i < 50; ++i) {
      auto req = std::make_unique<Parsed>("GET /items/" + std::to_string(i) + "?page=" + std::to_string(i * 7) +
                                          " HTTP/1.1\r\nHost: shop:8000\r\nUser-Agent: agent \"" + std::to_string(i) +
                                          "\"\r\nReferer: r" + std::string(static_cast<std::size_t>(i), 'x') + "\r\n\r\n");
      std::string client = "10.0.0." + std::to_string(i), route = i % 3 == 0 ? "" : "route-" + std::to_string(i);
      std::vector<UpstreamTry> tries(static_cast<std::size_t>(i % 3));
      std::vector<std::string> addresses;
      for (std::size_t k = 0; k < tries.size(); ++k) addresses.push_back("10.1.0." + std::to_string(k) + ":80");
      for (std::size_t k = 0; k < tries.size(); ++k) tries[k] = {addresses[k], k + 1 == tries.size() ? 200 : 502, 0.001 * i, -1, 0.002 * i};
      AccessRecord r;
      r.request = &req->head;
      r.client_ip = client;
      r.route = route;
      r.status = 200 + i;
      r.body_bytes_sent = static_cast<std::uint64_t>(i) * 1000003;
      r.request_time = 0.5 * i;
      r.tries = tries;
      f->render(expected, r);
      f->capture(captured, r);
      // The request's bytes and every text the record pointed to are overwritten before the
      // records are rendered: capture() must have copied them.
      std::fill(req->bytes.begin(), req->bytes.end(), '#');
      for (std::string* text : {&client, &route}) std::fill(text->begin(), text->end(), '#');
      for (auto& address : addresses) std::fill(address.begin(), address.end(), '#');
    }
    LineBuffer lines;
    EXPECT_EQ(f->render_captured(lines, captured.view()), 50u);
    EXPECT_EQ(lines.view(), expected.view());
    LineBuffer none;
    EXPECT_EQ(f->render_captured(none, {}), 0u);
    EXPECT_TRUE(none.empty());
  }
}

TEST(LogFormat, DefaultEscapingIsNginxs) {
  Parsed req("GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: a\"b\\c\xC3\xA9\r\n\r\n");
  AccessRecord r;
  r.request = &req.head;
  EXPECT_EQ(render("$http_user_agent", r), "a\\x22b\\x5Cc\\xC3\\xA9\n");
  EXPECT_EQ(render("escape=none $http_user_agent", r), "a\"b\\c\xC3\xA9\n");
  r.route = std::string_view("\x01\n", 2);  // a name from the configuration: control bytes escaped too
  EXPECT_EQ(render("$route", r), "\\x01\\x0A\n");
}

TEST(LogFormat, JsonPresetIsOneValidObjectPerLine) {
  Parsed req("GET /a%22b?q=\"x\" HTTP/1.1\r\nHost: h\r\nUser-Agent: tab\there \"quoted\"\r\n\r\n");
  AccessRecord r;
  r.request = &req.head;
  r.client_ip = "::1";
  r.status = 404;
  r.route = "users";
  r.request_id = "0123456789abcdef0123456789abcdef";
  std::string line = render("json", r);
  EXPECT_NE(line.find(R"("status":404,)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("user_agent":"tab\there \"quoted\"")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("uri":"/a%22b?q=\"x\"")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("upstream_addr":"")"), std::string::npos) << line;  // absent: empty in JSON
  EXPECT_NE(line.find(R"("request_id":"0123456789abcdef0123456789abcdef")"), std::string::npos) << line;
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

// Values are escaped in 1 KiB slices into a buffer that grows: a value longer than a slice,
// escaped everywhere, comes out whole and in order, in both escapings.
TEST(LogFormat, LongValuesAreEscapedWhole) {
  std::string agent;
  for (int i = 0; i < 1501; ++i) agent += i % 3 == 0 ? "\"" : i % 3 == 1 ? "x" : "\t";
  Parsed req("GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: " + agent + "\r\n\r\n");
  AccessRecord r;
  r.request = &req.head;
  std::string standard, json;
  for (char c : agent) {
    standard += c == '"' ? "\\x22" : c == '\t' ? "\\x09" : "x";
    json += c == '"' ? "\\\"" : c == '\t' ? "\\t" : "x";
  }
  EXPECT_EQ(render("<$http_user_agent>", r), "<" + standard + ">\n");
  EXPECT_EQ(render("escape=json <$http_user_agent>", r), "<" + json + ">\n");
}

// Numbers of every width (the writer has short paths for values below 1000), and times in
// seconds with milliseconds, rounded.
TEST(LogFormat, NumbersAndSecondsOfEveryWidth) {
  AccessRecord r;
  for (std::uint64_t value : {0ull, 7ull, 10ull, 99ull, 100ull, 404ull, 999ull, 1000ull, 65536ull, 18446744073709551615ull}) {
    r.body_bytes_sent = value;
    EXPECT_EQ(render("$body_bytes_sent", r), std::to_string(value) + "\n");
  }
  for (auto [seconds, text] : {std::pair{0.0, "0.000"}, {0.0004, "0.000"}, {0.0005, "0.001"}, {1.5, "1.500"},
                               {12.3456, "12.346"}, {999.9996, "1000.000"}, {86400.25, "86400.250"}}) {
    r.request_time = seconds;
    EXPECT_EQ(render("$request_time", r), std::string(text) + "\n") << seconds;
  }
}

// The escaping checks eight bytes at a time; against a byte-at-a-time reference, on values of
// every length made of the bytes that matter (quote, backslash, control, DEL, high bytes) and
// plain ones, at every position within a word.
TEST(LogEscape, WordAtATimeAgreesWithByteAtATime) {
  auto reference = [](std::string_view v, bool json) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : v) {
      auto u = static_cast<unsigned char>(c);
      if (json) {
        if (c == '"' || c == '\\') out += std::string("\\") + c;
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (u < 0x20) out += std::string("\\u00") + kHex[u >> 4] + kHex[u & 15];
        else out += c;
      } else if (c == '"' || c == '\\' || u < 0x20 || u >= 0x7F) {
        out += std::string("\\x") + kHex[u >> 4] + kHex[u & 15];
      } else {
        out += c;
      }
    }
    return out;
  };
  const std::string alphabet = {'a', '"', '\\', '\0', '\x01', '\n', '\t', '\x1f', ' ', '\x7e',
                                '\x7f', '\x80', '\xc3', '\xff', '0', 'Z'};
  std::uint64_t state = 12345;
  for (int round = 0; round < 2000; ++round) {
    std::string value;
    std::size_t size = static_cast<std::size_t>(round % 40);
    for (std::size_t i = 0; i < size; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      // Mostly plain bytes, so whole words pass the fast test too.
      value += (state >> 60) < 12 ? 'p' : alphabet[(state >> 33) % alphabet.size()];
    }
    for (auto escape : {LogEscape::standard, LogEscape::json}) {
      LineBuffer out;
      append_escaped(out, value, escape);
      ASSERT_EQ(out.view(), reference(value, escape == LogEscape::json)) << round;
    }
  }
}

TEST(LineBuffer, GrowsAndHandsOverWhatWasWritten) {
  LineBuffer buffer(4);
  buffer.append("abc");
  buffer.append(std::string(100, 'd'));
  buffer.append('e');
  EXPECT_EQ(buffer.size(), 104u);
  std::string taken = buffer.take();
  EXPECT_EQ(taken, "abc" + std::string(100, 'd') + "e");
  EXPECT_TRUE(buffer.empty());
  buffer.append("f");
  EXPECT_EQ(buffer.view(), "f");
}

TEST(LogFormat, HttpVariablesNameHeadersAsNginx) {
  Parsed req("GET / HTTP/1.1\r\nHost: h\r\nX-Request-Source: mobile\r\nContent-Type: text/plain\r\n\r\n");
  AccessRecord r;
  r.request = &req.head;
  EXPECT_EQ(render("$http_x_request_source $content_type $http_absent", r), "mobile text/plain -\n");
}

TEST(LogFormat, MistakesAreRefusedWithTheirName) {
  EXPECT_NE(compile_error("$remote_addr $reqest_time").find("'$reqest_time'"), std::string::npos);
  EXPECT_NE(compile_error("${status").find("'${'"), std::string::npos);
  EXPECT_NE(compile_error("cost $ 5").find("'$' without a variable name"), std::string::npos);
  EXPECT_NE(compile_error("escape=xml $status").find("'xml'"), std::string::npos);
}

}  // namespace
}  // namespace portico::obs
