#include "http/compressor.hpp"

#include <brotli/decode.h>
#include <gtest/gtest.h>
#include <zstd.h>

#include "http/gzip.hpp"

namespace portico::http {
namespace {

std::string encode_in_pieces(Coding coding, std::string_view body, std::size_t piece, bool size_known = false) {
  auto c = make_compressor(coding, 5, size_known ? body.size() : 0);
  std::string out;
  // The last piece goes with the end, as the proxy sends a body that came whole.
  std::size_t i = 0;
  for (; i + piece < body.size(); i += piece) c->feed(body.substr(i, piece), out);
  c->finish(body.substr(std::min(i, body.size())), out);
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

std::string decode(Coding coding, const std::string& encoded, std::size_t max) {
  std::string decoded;
  switch (coding) {
    case Coding::gzip:
      if (gunzip(encoded, decoded, max) != GunzipResult::ok) return "(gzip error)";
      return decoded;
    case Coding::br: {
      decoded.resize(max + 1);
      size_t size = decoded.size();
      if (BrotliDecoderDecompress(encoded.size(), reinterpret_cast<const uint8_t*>(encoded.data()), &size,
                                  reinterpret_cast<uint8_t*>(decoded.data())) != BROTLI_DECODER_RESULT_SUCCESS) {
        return "(br error)";
      }
      decoded.resize(size);
      return decoded;
    }
    case Coding::zstd: {
      decoded.resize(max + 1);
      size_t n = ZSTD_decompress(decoded.data(), decoded.size(), encoded.data(), encoded.size());
      if (ZSTD_isError(n)) return "(zstd error)";
      decoded.resize(n);
      return decoded;
    }
  }
  return {};
}

// A known size shrinks the window and tables; reused zstd contexts start afresh each time
// (sizes alternate, so a size declared for one body must not stay for the next).
TEST(Compressor, BodiesOfAKnownSizeRoundTripAndContextsAreReusedCleanly) {
  std::string all = sample();
  for (Coding coding : {Coding::gzip, Coding::br, Coding::zstd}) {
    for (int round = 0; round < 3; ++round) {
      for (std::size_t size : {std::size_t{1}, std::size_t{100}, std::size_t{2043}, std::size_t{5000}, all.size()}) {
        std::string body = all.substr(0, size);
        for (bool known : {true, false}) {
          std::string encoded = encode_in_pieces(coding, body, 700, known);
          EXPECT_EQ(decode(coding, encoded, body.size()), body) << coding_name(coding) << " size " << size << " known " << known;
        }
      }
    }
  }
  // Small bodies with a known size encode at least as small as with the full window.
  std::string small = all.substr(0, 2043);
  EXPECT_LE(encode_in_pieces(Coding::gzip, small, small.size(), true).size(),
            encode_in_pieces(Coding::gzip, small, small.size(), false).size() + 16);
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
