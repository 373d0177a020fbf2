#include "http/chunked.hpp"

#include <gtest/gtest.h>

namespace portico::http {
namespace {

// Decodes `input` fed in pieces of `step` bytes, as a connection would see it.
struct Decoded {
  std::string body;
  bool done = false;
  bool error = false;
};

Decoded decode(const std::string& input, std::size_t step) {
  ChunkedDecoder d;
  Decoded out;
  std::string pending;
  std::size_t fed = 0;
  while (true) {
    auto s = d.next(pending);
    if (s.status == ChunkedDecoder::Status::error) {
      out.error = true;
      return out;
    }
    if (s.status == ChunkedDecoder::Status::done) {
      out.done = true;
      return out;
    }
    if (s.status == ChunkedDecoder::Status::need_more) {
      if (fed >= input.size()) return out;
      pending += input.substr(fed, step);
      fed += step;
      continue;
    }
    out.body.append(s.data);
    pending.erase(0, s.consumed);
  }
}

TEST(Chunked, DecodesInAnySplit) {
  std::string in = "5\r\nhello\r\n7;ext=1;q=\"x y\"\r\n, world\r\n0\r\nTrailer: v\r\n\r\n";
  for (std::size_t step : {1u, 2u, 3u, 7u, 1000u}) {
    auto d = decode(in, step);
    EXPECT_TRUE(d.done) << step;
    EXPECT_EQ(d.body, "hello, world") << step;
  }
}

TEST(Chunked, RejectsMalformed) {
  const char* bad[] = {
      "x\r\nhello\r\n0\r\n\r\n",             // not hex
      "\r\nhello\r\n0\r\n\r\n",              // empty size
      "5 \r\nhello\r\n0\r\n\r\n",            // trailing space without extension
      "5\nhello\r\n0\r\n\r\n",               // bare LF
      "5\r\nhelloXX0\r\n\r\n",               // missing CRLF after data
      "5;\r\nhello\r\n0\r\n\r\n",            // empty extension name
      "5;a=\"unterminated\r\nhello\r\n0\r\n\r\n",
      "-5\r\nhello\r\n0\r\n\r\n",
      "fffffffffffffffffff\r\n",             // overflow
      "0x5\r\nhello\r\n0\r\n\r\n",
      "5\r\nhello\r\n0\r\nBad Trailer\r\n\r\n",
  };
  for (const char* b : bad) {
    EXPECT_TRUE(decode(b, 1000).error) << b;
  }
}

TEST(Chunked, OverlongLineIsAnError) {
  std::string in = "5;" + std::string(5000, 'a') + "\r\nhello\r\n0\r\n\r\n";
  EXPECT_TRUE(decode(in, 1000).error);
}

TEST(Chunked, SizeLineParser) {
  std::uint64_t size = 0;
  EXPECT_TRUE(parse_chunk_size_line("1A", size));
  EXPECT_EQ(size, 26u);
  EXPECT_TRUE(parse_chunk_size_line("1a ; name = \"v\\\"x\"", size));
  EXPECT_FALSE(parse_chunk_size_line("1a;name=", size));
  EXPECT_FALSE(parse_chunk_size_line("", size));
}

}  // namespace
}  // namespace portico::http

namespace portico::http {
namespace {

TEST(ChunkSizeLine, HexSizeThenCrlf) {
  char line[kChunkSizeLineMax];
  EXPECT_EQ(std::string_view(line, write_chunk_size_line(0, line)), "0\r\n");
  EXPECT_EQ(std::string_view(line, write_chunk_size_line(0x1a2b, line)), "1a2b\r\n");
  EXPECT_EQ(std::string_view(line, write_chunk_size_line(~std::uint64_t{0}, line)), "ffffffffffffffff\r\n");
}

}  // namespace
}  // namespace portico::http
