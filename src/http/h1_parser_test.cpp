#include "http/h1_parser.hpp"

#include <gtest/gtest.h>

namespace portico::http {
namespace {

ParseOutcome parse(const std::string& raw, RequestHead& head, ParserLimits limits = {}) {
  return parse_request_head(raw, limits, head);
}

TEST(RequestParser, ParsesSimpleGet) {
  RequestHead h;
  std::string raw = "GET /users/1?x=2 HTTP/1.1\r\nHost: api.example.com\r\nAccept: */*\r\n\r\nNEXT";
  auto r = parse(raw, h);
  ASSERT_EQ(r.state, ParseState::complete);
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.path, "/users/1");
  EXPECT_EQ(h.query, "x=2");
  EXPECT_EQ(h.host, "api.example.com");
  EXPECT_EQ(h.headers.size(), 2u);
  EXPECT_EQ(h.head_size, raw.size() - 4);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.framing, BodyFraming::none);
}

TEST(RequestParser, IncompleteUntilEmptyLine) {
  RequestHead h;
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n", h).state, ParseState::incomplete);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHo", h).state, ParseState::incomplete);
  EXPECT_EQ(parse("GET / HT", h).state, ParseState::incomplete);
}

TEST(RequestParser, FramingAndConnection) {
  RequestHead h;
  std::string raw = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nConnection: close, X-Foo\r\n\r\n";
  ASSERT_EQ(parse(raw, h).state, ParseState::complete);
  EXPECT_EQ(h.framing, BodyFraming::content_length);
  EXPECT_EQ(h.content_length, 12u);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(h.connection_tokens.size(), 1u);
  EXPECT_EQ(h.connection_tokens[0], "X-Foo");

  ASSERT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", h).state, ParseState::complete);
  EXPECT_EQ(h.framing, BodyFraming::chunked);

  ASSERT_EQ(parse("GET / HTTP/1.0\r\n\r\n", h).state, ParseState::complete);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", h).state, ParseState::complete);
  EXPECT_TRUE(h.keep_alive);
  // Identical repeated Content-Length values are one value (RFC 9110 8.6).
  ASSERT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", h).state,
            ParseState::complete);
  EXPECT_EQ(h.content_length, 3u);
}

TEST(RequestParser, AbsoluteFormTakesAuthorityAsHost) {
  RequestHead h;
  std::string raw = "GET http://Example.com:8080/a/b?q=1 HTTP/1.1\r\nHost: other\r\n\r\n";
  ASSERT_EQ(parse(raw, h).state, ParseState::complete);
  EXPECT_EQ(h.host, "Example.com:8080");
  EXPECT_EQ(h.path, "/a/b");
  EXPECT_EQ(h.query, "q=1");
}

TEST(RequestParser, ExpectContinue) {
  RequestHead h;
  ASSERT_EQ(parse("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", h).state,
            ParseState::complete);
  EXPECT_TRUE(h.expect_continue);
  EXPECT_EQ(parse("PUT / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n", h).status, 417);
}

struct BadCase {
  const char* name;
  std::string raw;
  int status;
};

class RejectsMalformed : public ::testing::TestWithParam<BadCase> {};

TEST_P(RejectsMalformed, WithStatus) {
  RequestHead h;
  auto r = parse(GetParam().raw, h);
  EXPECT_EQ(r.state, ParseState::error) << GetParam().name;
  EXPECT_EQ(r.status, GetParam().status) << GetParam().name << ": " << r.message;
}

INSTANTIATE_TEST_SUITE_P(
    Policy, RejectsMalformed,
    ::testing::Values(
        BadCase{"cl_and_te", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        BadCase{"te_gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        BadCase{"te_double_chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 501},
        BadCase{"te_repeated", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        BadCase{"te_identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 501},
        BadCase{"te_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        BadCase{"cl_conflict", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
        BadCase{"cl_list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400},
        BadCase{"cl_negative", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
        BadCase{"cl_plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400},
        BadCase{"cl_hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400},
        BadCase{"cl_overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400},
        BadCase{"cl_empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400},
        BadCase{"obs_fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400},
        BadCase{"bare_lf_in_header", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400},
        BadCase{"bare_lf_request_line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400},
        BadCase{"bare_cr", "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400},
        BadCase{"nul_in_value", std::string("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 36), 400},
        BadCase{"ctl_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n", 400},
        BadCase{"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
        BadCase{"tab_before_colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400},
        BadCase{"bad_header_name", "GET / HTTP/1.1\r\nHost: a\r\nX(y): z\r\n\r\n", 400},
        BadCase{"empty_header_name", "GET / HTTP/1.1\r\nHost: a\r\n: z\r\n\r\n", 400},
        BadCase{"missing_host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
        BadCase{"double_host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        BadCase{"bad_host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
        BadCase{"host_userinfo", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400},
        BadCase{"target_no_slash", "GET users HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        BadCase{"target_fragment", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        BadCase{"target_bad_percent", "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        BadCase{"target_non_ascii", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        BadCase{"absolute_userinfo", "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        BadCase{"asterisk_get", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        BadCase{"double_space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        BadCase{"lowercase_version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
        BadCase{"bad_method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        BadCase{"http2", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
        BadCase{"http09", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505},
        BadCase{"connect", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405},
        BadCase{"bad_connection_token", "GET / HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n", 400}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(RequestParser, LimitsGive414And431) {
  ParserLimits limits;
  limits.max_request_line = 64;
  limits.max_head_size = 256;
  limits.max_header_count = 4;
  RequestHead h;
  EXPECT_EQ(parse("GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", h, limits).status, 414);
  EXPECT_EQ(parse("GET /" + std::string(100, 'a'), h, limits).status, 414);  // incomplete but already too long
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(300, 'b') + "\r\n\r\n", h, limits).status, 431);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", h, limits).status, 431);
}

TEST(ResponseParser, FramingRules) {
  ResponseHead r;
  ParserLimits limits;
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", limits, false, r).state,
            ParseState::complete);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.framing, BodyFraming::content_length);
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\n\r\n", limits, false, r).state, ParseState::complete);
  EXPECT_EQ(r.framing, BodyFraming::until_close);
  EXPECT_FALSE(r.keep_alive);
  ASSERT_EQ(parse_response_head("HTTP/1.1 204 No Content\r\n\r\n", limits, false, r).state, ParseState::complete);
  EXPECT_EQ(r.framing, BodyFraming::none);
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", limits, true, r).state,
            ParseState::complete);
  EXPECT_EQ(r.framing, BodyFraming::none);  // HEAD
  ASSERT_EQ(parse_response_head("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", limits, false, r).state, ParseState::complete);
  EXPECT_EQ(r.reason, "");
}

TEST(ResponseParser, AmbiguousFramingIs502) {
  ResponseHead r;
  ParserLimits limits;
  auto o = parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", limits, false, r);
  EXPECT_EQ(o.status, 502);
  o = parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", limits, false, r);
  EXPECT_EQ(o.status, 502);
  o = parse_response_head("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", limits, false, r);
  EXPECT_EQ(o.status, 502);
  o = parse_response_head("HTTP/1.1 2000 OK\r\n\r\n", limits, false, r);
  EXPECT_EQ(o.status, 502);
  o = parse_response_head("HTTP/1.1 200 OK\nX: a\r\n\r\n", limits, false, r);
  EXPECT_EQ(o.status, 502);
}

// The value scanner works eight bytes at a time: a bad byte must be found at any offset.
TEST(RequestParser, ControlCharactersRejectedAtEveryOffset) {
  for (std::size_t offset = 0; offset < 24; ++offset) {
    for (char bad : {'\0', '\x01', '\x1f', '\x7f', '\n', '\r'}) {
      std::string value(24, 'v');
      value[offset] = bad;
      std::string raw = "GET / HTTP/1.1\r\nHost: a\r\nX-Test: " + value + "\r\n\r\n";
      RequestHead h;
      auto r = parse(raw, h);
      EXPECT_EQ(r.state, ParseState::error) << "offset " << offset << " byte " << int(bad);
      EXPECT_EQ(r.status, 400);
    }
    std::string value(24, 'v');
    value[offset] = '\t';  // HTAB is allowed
    std::string raw = "GET / HTTP/1.1\r\nHost: a\r\nX-Test: " + value + "\r\n\r\n";
    RequestHead h;
    EXPECT_EQ(parse(raw, h).state, ParseState::complete) << "offset " << offset;
  }
}

TEST(RequestParser, IncompleteAtEveryByte) {
  std::string raw = "POST /a?b=c HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nX-Long-Header: 0123456789abcdef\r\n\r\n";
  for (std::size_t n = 0; n < raw.size(); ++n) {
    RequestHead h;
    EXPECT_EQ(parse(raw.substr(0, n), h).state, ParseState::incomplete) << n;
  }
  RequestHead h;
  EXPECT_EQ(parse(raw, h).state, ParseState::complete);
}

TEST(FieldKinds, ClassifiedOnce) {
  EXPECT_EQ(classify_field("Content-Length"), FieldKind::content_length);
  EXPECT_EQ(classify_field("TRANSFER-ENCODING"), FieldKind::transfer_encoding);
  EXPECT_EQ(classify_field("x-forwarded-for"), FieldKind::x_forwarded_for);
  EXPECT_EQ(classify_field("X-Forwarded-Client-Cert"), FieldKind::x_forwarded_other);
  EXPECT_EQ(classify_field("Proxy-Connection"), FieldKind::proxy_connection);
  EXPECT_EQ(classify_field("Content-Type"), FieldKind::other);
  EXPECT_TRUE(is_hop_by_hop_or_framing(FieldKind::te));
  EXPECT_FALSE(is_hop_by_hop_or_framing(FieldKind::host));
}

TEST(Authority, Validation) {
  EXPECT_TRUE(is_valid_authority("example.com"));
  EXPECT_TRUE(is_valid_authority("example.com:8080"));
  EXPECT_TRUE(is_valid_authority("[::1]:80"));
  EXPECT_TRUE(is_valid_authority("127.0.0.1"));
  EXPECT_FALSE(is_valid_authority("example.com:"));
  EXPECT_FALSE(is_valid_authority("example.com:99999"));
  EXPECT_FALSE(is_valid_authority("exa mple.com"));
  EXPECT_FALSE(is_valid_authority("a/b"));
  EXPECT_FALSE(is_valid_authority(""));
}

}  // namespace
}  // namespace portico::http
