#include "proxy/partial_head.hpp"

#include <gtest/gtest.h>

#include <string>

namespace portico::proxy {
namespace {

const http::ParserLimits kLimits{};

TEST(HeadWorthParsing, OnlyOnceTheParserCanAnswer) {
  EXPECT_FALSE(head_worth_parsing("GET / HTTP/1.1\r\nHost: a\r\n", 0, kLimits));
  EXPECT_TRUE(head_worth_parsing("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, kLimits));   // the end
  EXPECT_TRUE(head_worth_parsing("GET / HTTP/1.1\nHost: a", 0, kLimits));              // bare LF
  EXPECT_TRUE(head_worth_parsing("GET / HTTP/1.1\rHost: a", 0, kLimits));              // bare CR
  EXPECT_FALSE(head_worth_parsing("GET / HTTP/1.1\r", 0, kLimits));                    // a CR, LF to come
  EXPECT_TRUE(head_worth_parsing(std::string(kLimits.max_request_line + 1, 'a'), 0, kLimits));  // over the limit
}

// Bytes arriving one at a time: each call scans the new byte (and the one before it), and the
// answer is the same as for the whole text at once.
TEST(HeadWorthParsing, ByteByByteAgreesWithTheWhole) {
  for (const std::string head : {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\rb", "GET /\r\n\n"}) {
    std::string data;
    bool worth = false;
    for (char ch : head) {
      const std::size_t scanned = data.size();
      data += ch;
      worth = head_worth_parsing(data, scanned, kLimits);
      if (worth) break;
    }
    EXPECT_TRUE(worth) << head;
    EXPECT_EQ(data, head) << "not before the last byte";
  }
}

}  // namespace
}  // namespace portico::proxy
