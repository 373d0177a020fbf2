#include "http/compressor.hpp"

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>

namespace portico::http {
namespace {

class GzipCompressor final : public Compressor {
 public:
  explicit GzipCompressor(int level) {
    deflateInit2(&z_, std::clamp(level, 1, 9), Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  }
  ~GzipCompressor() override { deflateEnd(&z_); }
  void feed(std::string_view in, std::string& out) override { run(in, Z_SYNC_FLUSH, out); }
  void finish(std::string& out) override { run({}, Z_FINISH, out); }

 private:
  void run(std::string_view in, int flush, std::string& out) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    char buf[16384];
    do {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof buf;
      deflate(&z_, flush);
      out.append(buf, sizeof buf - z_.avail_out);
    } while (z_.avail_out == 0);
  }
  z_stream z_{};
};

class BrotliCompressor final : public Compressor {
 public:
  explicit BrotliCompressor(int level) : state_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
    BrotliEncoderSetParameter(state_, BROTLI_PARAM_QUALITY, static_cast<uint32_t>(std::clamp(level, 0, 11)));
  }
  ~BrotliCompressor() override { BrotliEncoderDestroyInstance(state_); }
  void feed(std::string_view in, std::string& out) override { run(in, BROTLI_OPERATION_FLUSH, out); }
  void finish(std::string& out) override { run({}, BROTLI_OPERATION_FINISH, out); }

 private:
  void run(std::string_view in, BrotliEncoderOperation op, std::string& out) {
    size_t avail_in = in.size();
    const uint8_t* next_in = reinterpret_cast<const uint8_t*>(in.data());
    for (;;) {
      size_t avail_out = 0;
      BrotliEncoderCompressStream(state_, op, &avail_in, &next_in, &avail_out, nullptr, nullptr);
      size_t size = 0;
      const uint8_t* produced = BrotliEncoderTakeOutput(state_, &size);
      out.append(reinterpret_cast<const char*>(produced), size);
      bool done = avail_in == 0 && !BrotliEncoderHasMoreOutput(state_) &&
                  (op != BROTLI_OPERATION_FINISH || BrotliEncoderIsFinished(state_));
      if (done) return;
    }
  }
  BrotliEncoderState* state_;
};

class ZstdCompressor final : public Compressor {
 public:
  explicit ZstdCompressor(int level) : ctx_(ZSTD_createCCtx()) {
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, std::clamp(level, 1, 19));
  }
  ~ZstdCompressor() override { ZSTD_freeCCtx(ctx_); }
  void feed(std::string_view in, std::string& out) override { run(in, ZSTD_e_flush, out); }
  void finish(std::string& out) override { run({}, ZSTD_e_end, out); }

 private:
  void run(std::string_view in, ZSTD_EndDirective mode, std::string& out) {
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    char buf[16384];
    for (;;) {
      ZSTD_outBuffer output{buf, sizeof buf, 0};
      size_t remaining = ZSTD_compressStream2(ctx_, &output, &input, mode);
      out.append(buf, output.pos);
      if (ZSTD_isError(remaining) || remaining == 0) return;  // flushed (or ended) completely
    }
  }
  ZSTD_CCtx* ctx_;
};

}  // namespace

std::string_view coding_name(Coding coding) {
  switch (coding) {
    case Coding::gzip: return "gzip";
    case Coding::br: return "br";
    case Coding::zstd: return "zstd";
  }
  return "identity";
}

std::unique_ptr<Compressor> make_compressor(Coding coding, int level) {
  switch (coding) {
    case Coding::gzip: return std::make_unique<GzipCompressor>(level);
    case Coding::br: return std::make_unique<BrotliCompressor>(level);
    case Coding::zstd: return std::make_unique<ZstdCompressor>(level);
  }
  return nullptr;
}

}  // namespace portico::http
