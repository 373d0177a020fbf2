// Hostile and malformed requests over raw sockets: each must get the right status and a
// JSON body, the connection must be closed, and nothing may reach the upstream.
#include <gtest/gtest.h>

#include "support/fixture_upstream.hpp"
#include "support/gateway_harness.hpp"
#include "support/raw_client.hpp"

namespace portico::test {
namespace {

struct Case {
  const char* name;
  std::string bytes;
  int status;
};

const std::string kPost = "POST /echo HTTP/1.1\r\nHost: gw.test\r\n";

std::vector<Case> cases() {
  std::string long_target = "/echo/" + std::string(9000, 'a');
  std::string big_header = "X-Big: " + std::string(40000, 'b') + "\r\n";
  std::string many_headers;
  for (int i = 0; i < 120; ++i) many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  return {
      // Framing ambiguity (request smuggling classes)
      {"cl_and_te", kPost + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"te_and_cl", kPost + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400},
      {"te_gzip_chunked", kPost + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
      {"te_chunked_gzip", kPost + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 501},
      {"te_identity", kPost + "Transfer-Encoding: identity\r\n\r\n", 501},
      {"te_xchunked", kPost + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501},
      {"te_twice", kPost + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"te_space_name", kPost + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400},
      {"te_http10", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"te_vertical_tab", kPost + "Transfer-Encoding:\x0b" "chunked\r\n\r\n0\r\n\r\n", 400},
      {"cl_conflict", kPost + "Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400},
      {"cl_list", kPost + "Content-Length: 4, 5\r\n\r\nabcde", 400},
      {"cl_negative", kPost + "Content-Length: -4\r\n\r\n", 400},
      {"cl_plus_sign", kPost + "Content-Length: +4\r\n\r\nabcd", 400},
      {"cl_letters", kPost + "Content-Length: 4a\r\n\r\nabcd", 400},
      {"cl_overflow", kPost + "Content-Length: 18446744073709551617\r\n\r\n", 400},
      // Header syntax
      {"obs_fold", "GET /echo HTTP/1.1\r\nHost: gw.test\r\nX-A: 1\r\n  folded\r\n\r\n", 400},
      {"obs_fold_tab", "GET /echo HTTP/1.1\r\nHost: gw.test\r\nX-A: 1\r\n\tfolded\r\n\r\n", 400},
      {"bare_lf_field", "GET /echo HTTP/1.1\r\nHost: gw.test\nX-A: 1\r\n\r\n", 400},
      {"bare_lf_terminator", "GET /echo HTTP/1.1\r\nHost: gw.test\r\n\n", 400},
      {"bare_cr_field", "GET /echo HTTP/1.1\r\nHost: gw.test\rX-A: 1\r\n\r\n", 400},
      {"bare_cr_value", "GET /echo HTTP/1.1\r\nHost: gw.test\r\nX-A: a\rb\r\n\r\n", 400},
      {"nul_in_value", std::string("GET /echo HTTP/1.1\r\nHost: gw.test\r\nX-A: a\0b\r\n\r\n", 47), 400},
      {"ctl_in_value", "GET /echo HTTP/1.1\r\nHost: gw.test\r\nX-A: a\x1f" "b\r\n\r\n", 400},
      {"del_in_value", "GET /echo HTTP/1.1\r\nHost: gw.test\r\nX-A: a\x7f" "b\r\n\r\n", 400},
      {"space_before_colon", "GET /echo HTTP/1.1\r\nHost: gw.test\r\nX-A : 1\r\n\r\n", 400},
      {"space_in_name", "GET /echo HTTP/1.1\r\nHost: gw.test\r\nX A: 1\r\n\r\n", 400},
      {"no_colon", "GET /echo HTTP/1.1\r\nHost: gw.test\r\nNoColonHere\r\n\r\n", 400},
      {"empty_name", "GET /echo HTTP/1.1\r\nHost: gw.test\r\n: value\r\n\r\n", 400},
      {"non_token_name", "GET /echo HTTP/1.1\r\nHost: gw.test\r\nX@A: 1\r\n\r\n", 400},
      // Host
      {"missing_host", "GET /echo HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
      {"repeated_host", "GET /echo HTTP/1.1\r\nHost: gw.test\r\nHost: evil.test\r\n\r\n", 400},
      {"bad_host_chars", "GET /echo HTTP/1.1\r\nHost: gw test\r\n\r\n", 400},
      {"bad_host_port", "GET /echo HTTP/1.1\r\nHost: gw.test:99999\r\n\r\n", 400},
      {"host_with_slash", "GET /echo HTTP/1.1\r\nHost: gw.test/evil\r\n\r\n", 400},
      // Request line and target
      {"relative_target", "GET echo HTTP/1.1\r\nHost: gw.test\r\n\r\n", 400},
      {"fragment_target", "GET /echo#frag HTTP/1.1\r\nHost: gw.test\r\n\r\n", 400},
      {"bad_percent", "GET /echo%G1 HTTP/1.1\r\nHost: gw.test\r\n\r\n", 400},
      {"truncated_percent", "GET /echo% HTTP/1.1\r\nHost: gw.test\r\n\r\n", 400},
      {"raw_utf8_target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: gw.test\r\n\r\n", 400},
      {"double_space", "GET  /echo HTTP/1.1\r\nHost: gw.test\r\n\r\n", 400},
      {"tab_separator", "GET\t/echo HTTP/1.1\r\nHost: gw.test\r\n\r\n", 400},
      {"missing_version", "GET /echo\r\nHost: gw.test\r\n\r\n", 400},
      {"bad_version", "GET /echo HTTP/1.x\r\nHost: gw.test\r\n\r\n", 400},
      {"lowercase_version", "GET /echo http/1.1\r\nHost: gw.test\r\n\r\n", 400},
      {"dot_segments_above_root", "GET /../../etc/passwd HTTP/1.1\r\nHost: gw.test\r\n\r\n", 400},
      {"absolute_userinfo", "GET http://user@gw.test/echo HTTP/1.1\r\nHost: gw.test\r\n\r\n", 400},
      {"absolute_bad_scheme", "GET ftp://gw.test/echo HTTP/1.1\r\nHost: gw.test\r\n\r\n", 400},
      {"asterisk_with_get", "GET * HTTP/1.1\r\nHost: gw.test\r\n\r\n", 400},
      {"connect", "CONNECT gw.test:443 HTTP/1.1\r\nHost: gw.test:443\r\n\r\n", 405},
      {"http2_version", "GET /echo HTTP/2.0\r\nHost: gw.test\r\n\r\n", 505},
      {"http3_version", "GET /echo HTTP/3.0\r\nHost: gw.test\r\n\r\n", 505},
      {"expectation", "GET /echo HTTP/1.1\r\nHost: gw.test\r\nExpect: 200-ok\r\n\r\n", 417},
      // Limits
      {"uri_too_long", "GET " + long_target + " HTTP/1.1\r\nHost: gw.test\r\n\r\n", 414},
      {"header_too_large", "GET /echo HTTP/1.1\r\nHost: gw.test\r\n" + big_header + "\r\n", 431},
      {"too_many_headers", "GET /echo HTTP/1.1\r\nHost: gw.test\r\n" + many_headers + "\r\n", 431},
      // Chunked bodies
      {"chunk_size_not_hex", kPost + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_size_empty", kPost + "Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_size_negative", kPost + "Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_size_0x", kPost + "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_size_overflow", kPost + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_size_space", kPost + "Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_bare_lf", kPost + "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400},
      {"chunk_missing_crlf", kPost + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400},
      {"chunk_data_too_long", kPost + "Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_ext_empty", kPost + "Transfer-Encoding: chunked\r\n\r\n5;\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_ext_bad_quote", kPost + "Transfer-Encoding: chunked\r\n\r\n5;a=\"x\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_ext_ctl", kPost + "Transfer-Encoding: chunked\r\n\r\n5;a=\x01\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_bad_trailer", kPost + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nNot a trailer\r\n\r\n", 400},
  };
}

class Malformed : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    upstream_ = new FixtureUpstream();
    gw_ = new GatewayHarness("_format_version: \"3.0\"\nservices:\n- name: echo\n  url: http://127.0.0.1:" +
                             std::to_string(upstream_->port()) + "\n  routes:\n  - paths: [/]\n");
  }
  static void TearDownTestSuite() {
    delete gw_;
    delete upstream_;
  }
  static FixtureUpstream* upstream_;
  static GatewayHarness* gw_;
};
FixtureUpstream* Malformed::upstream_ = nullptr;
GatewayHarness* Malformed::gw_ = nullptr;

TEST_P(Malformed, IsRejectedClosedAndNotForwarded) {
  const Case& c = GetParam();
  upstream_->clear();
  RawConnection conn(gw_->port());
  conn.send(c.bytes);
  auto r = conn.read_response();
  EXPECT_EQ(r.status, c.status) << c.name << "\n" << r.head;
  EXPECT_EQ(r.field("content-type"), "application/json; charset=utf-8") << c.name;
  EXPECT_EQ(r.body.rfind("{\"message\":\"", 0), 0u) << c.name << ": " << r.body;
  EXPECT_EQ(r.field("connection"), "close") << c.name;
  EXPECT_TRUE(conn.closed_by_peer()) << c.name << ": connection left open";
  EXPECT_EQ(upstream_->request_count(), 0u) << c.name << ": reached the upstream";
}

INSTANTIATE_TEST_SUITE_P(Suite, Malformed, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(MalformedCount, AtLeastForty) { EXPECT_GE(cases().size(), 40u); }

TEST_F(Malformed, GatewayStillServesAfterTheSuite) {
  RawConnection conn(gw_->port());
  conn.send("GET /fine HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  EXPECT_EQ(conn.read_response().status, 200);
}

}  // namespace
}  // namespace portico::test
