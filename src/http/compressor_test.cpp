#include "http/compressor.hpp"

#include <brotli/decode.h>
#include <gtest/gtest.h>
#include <zstd.h>

#include "http/gzip.hpp"

namespace portico::http {
namespace {

std::string encode_in_pieces(Coding coding, std::string_view body, std::size_t piece) {
  auto c = make_compressor(coding, 5);
  std::string out;
  for (std::size_t i = 0; i < body.size(); i += piece) c->feed(body.substr(i, piece), out);
  c->finish(out);
  return out;
}

std::string sample() {
  std::string s;
  for (int i = 0; i < 2000; ++i) s += "{\"id\":" + std::to_string(i) + ",\"name\":\"item\"},";
  return s;
}

TEST(Compressor, GzipRoundTripsInPieces) {
  std::string body = sample();
  std::string encoded = encode_in_pieces(Coding::gzip, body, 777);
  EXPECT_LT(encoded.size(), body.size() / 4);
  std::string decoded;
  ASSERT_EQ(gunzip(encoded, decoded, body.size()), GunzipResult::ok);
  EXPECT_EQ(decoded, body);
}

TEST(Compressor, BrotliRoundTripsInPieces) {
  std::string body = sample();
  std::string encoded = encode_in_pieces(Coding::br, body, 1000);
  std::string decoded(body.size(), '\0');
  size_t size = decoded.size();
  ASSERT_EQ(BrotliDecoderDecompress(encoded.size(), reinterpret_cast<const uint8_t*>(encoded.data()), &size,
                                    reinterpret_cast<uint8_t*>(decoded.data())),
            BROTLI_DECODER_RESULT_SUCCESS);
  decoded.resize(size);
  EXPECT_EQ(decoded, body);
}

TEST(Compressor, ZstdRoundTripsInPieces) {
  std::string body = sample();
  std::string encoded = encode_in_pieces(Coding::zstd, body, 333);
  std::string decoded(body.size() + 1, '\0');
  size_t n = ZSTD_decompress(decoded.data(), decoded.size(), encoded.data(), encoded.size());
  ASSERT_FALSE(ZSTD_isError(n));
  decoded.resize(n);
  EXPECT_EQ(decoded, body);
}

TEST(Compressor, EachPieceIsFlushedAsItComes) {
  for (Coding coding : {Coding::gzip, Coding::br, Coding::zstd}) {
    auto c = make_compressor(coding, 5);
    std::string out;
    c->feed("data: first event\n\n", out);
    EXPECT_FALSE(out.empty()) << coding_name(coding);  // a streamed event is not held back
  }
}

}  // namespace
}  // namespace portico::http
