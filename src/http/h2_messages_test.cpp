#include "http/h2_messages.hpp"

#include <gtest/gtest.h>

#include "http/h1_parser.hpp"

namespace portico::http {
namespace {

TEST(H2RequestHead, BecomesTheEquivalentHttp11Head) {
  H2RequestHead fields(32768);
  fields.add(":method", "POST");
  fields.add(":scheme", "https");
  fields.add(":authority", "api.example.com:8443");
  fields.add(":path", "/orders?id=7");
  fields.add("cookie", "a=1");
  fields.add("content-type", "application/json");
  fields.add("cookie", "b=2");
  fields.add("te", "trailers");
  fields.add("host", "API.example.com:8443");  // the same authority: dropped, not doubled
  bool chunked = true;
  std::string head = fields.finish(true, chunked);
  EXPECT_TRUE(chunked);  // a body follows and has no content-length
  EXPECT_EQ(head,
            "POST /orders?id=7 HTTP/1.1\r\nHost: api.example.com:8443\r\ncontent-type: application/json\r\n"
            "Cookie: a=1; b=2\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_FALSE(fields.conflicting_host());
  RequestHead parsed;
  ASSERT_EQ(parse_request_head(head, ParserLimits{}, parsed).state, ParseState::complete);
  EXPECT_EQ(parsed.host, "api.example.com:8443");
  EXPECT_EQ(parsed.framing, BodyFraming::chunked);
}

TEST(H2RequestHead, KeepsContentLengthAndAddsNoFramingWithoutBody) {
  H2RequestHead with_length(32768);
  for (auto [n, v] : {std::pair{":method", "PUT"}, {":path", "/x"}, {":authority", "h"}, {"content-length", "5"}}) {
    with_length.add(n, v);
  }
  bool chunked = true;
  EXPECT_EQ(with_length.finish(true, chunked), "PUT /x HTTP/1.1\r\nHost: h\r\ncontent-length: 5\r\n\r\n");
  EXPECT_FALSE(chunked);
  H2RequestHead get(32768);
  for (auto [n, v] : {std::pair{":method", "GET"}, {":path", "/"}, {":authority", "h"}}) get.add(n, v);
  EXPECT_EQ(get.finish(false, chunked), "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_FALSE(chunked);
}

TEST(H2RequestHead, RefusesTooLargeAndContradictingHost) {
  H2RequestHead big(100);
  big.add(":method", "GET");
  big.add("x-a", std::string(200, 'a'));
  EXPECT_TRUE(big.too_large());
  H2RequestHead other(32768);
  other.add(":authority", "good.example");
  other.add("host", "evil.example");
  EXPECT_TRUE(other.conflicting_host());
}

TEST(H2RequestHead, AnExtendedConnectForAWebSocketBecomesTheHttp11Handshake) {
  H2RequestHead fields(32768);
  for (auto [n, v] : {std::pair{":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "https"},
                      {":path", "/chat?room=1"}, {":authority", "h"}, {"sec-websocket-version", "13"},
                      {"sec-websocket-key", "client's own"}, {"sec-websocket-protocol", "chat"}}) {
    fields.add(n, v);
  }
  EXPECT_TRUE(fields.websocket());
  EXPECT_FALSE(fields.unsupported_protocol());
  bool chunked = true;
  std::string head = fields.finish(true, chunked, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_FALSE(chunked);  // the DATA that follow are the tunnel's, not a body
  EXPECT_EQ(head,
            "GET /chat?room=1 HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n"
            "sec-websocket-protocol: chat\r\n\r\n");
  RequestHead parsed;
  ASSERT_EQ(parse_request_head(head, ParserLimits{}, parsed).state, ParseState::complete);
  EXPECT_TRUE(parsed.connection_upgrade);
  EXPECT_EQ(parsed.framing, BodyFraming::none);

  H2RequestHead other(32768);
  for (auto [n, v] : {std::pair{":method", "CONNECT"}, {":protocol", "webtransport"}, {":path", "/"}}) other.add(n, v);
  EXPECT_FALSE(other.websocket());
  EXPECT_TRUE(other.unsupported_protocol());
}

TEST(H2ResponseFields, StatusFirstLowercaseAndNoConnectionFields) {
  ResponseHead head;
  std::string bytes =
      "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Private\r\n"
      "X-Private: s\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n";
  ASSERT_EQ(parse_response_head(bytes, ParserLimits{}, false, head).state, ParseState::complete);
  H2ResponseFields fields;
  fields.build(head);
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& f : fields.fields()) got.emplace_back(f.name, f.value);
  std::vector<std::pair<std::string, std::string>> want{
      {":status", "201"}, {"content-type", "text/plain"}, {"set-cookie", "a=1"}, {"set-cookie", "b=2"}};
  EXPECT_EQ(got, want);
}

TEST(H2Preface, RecognisesItsBeginning) {
  EXPECT_TRUE(starts_h2_preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00"));
  EXPECT_TRUE(starts_h2_preface("PR"));
  EXPECT_FALSE(starts_h2_preface("POST / HTTP/1.1\r\n"));
  EXPECT_FALSE(starts_h2_preface(""));
}

}  // namespace
}  // namespace portico::http
