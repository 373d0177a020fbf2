#include "http/compressor.hpp"

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <vector>

namespace portico::http {
namespace {

// The smallest window (2^bits bytes, from `min_bits`) that holds `size` bytes; `max_bits`
// when the size is unknown or larger.
int window_bits_for(std::uint64_t size, int min_bits, int max_bits) {
  if (size == 0) return max_bits;
  int bits = min_bits;
  while (bits < max_bits && (std::uint64_t{1} << bits) < size) ++bits;
  return bits;
}

class GzipCompressor final : public Compressor {
 public:
  GzipCompressor(int level, std::uint64_t exact_size) {
    // nginx's rule: the window halves (and the hash table with it) while the body fits in
    // half of it, less deflate's lookahead (262 bytes).
    int wbits = MAX_WBITS, mem_level = 8;
    if (exact_size > 0) {
      while (wbits > 9 && exact_size < (std::uint64_t{1} << (wbits - 1)) - 262) {
        --wbits;
        if (mem_level > 1) --mem_level;
      }
    }
    deflateInit2(&z_, std::clamp(level, 1, 9), Z_DEFLATED, 16 + wbits, mem_level, Z_DEFAULT_STRATEGY);
  }
  ~GzipCompressor() override { deflateEnd(&z_); }
  void feed(std::string_view in, std::string& out) override { run(in, Z_SYNC_FLUSH, out); }
  void finish(std::string_view last, std::string& out) override { run(last, Z_FINISH, out); }

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
  BrotliCompressor(int level, std::uint64_t exact_size) : state_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
    BrotliEncoderSetParameter(state_, BROTLI_PARAM_QUALITY, static_cast<uint32_t>(std::clamp(level, 0, 11)));
    if (exact_size > 0) {
      BrotliEncoderSetParameter(state_, BROTLI_PARAM_LGWIN,
                                static_cast<uint32_t>(window_bits_for(exact_size, BROTLI_MIN_WINDOW_BITS, BROTLI_DEFAULT_WINDOW)));
      BrotliEncoderSetParameter(state_, BROTLI_PARAM_SIZE_HINT,
                                static_cast<uint32_t>(std::min<std::uint64_t>(exact_size, 1u << 30)));
    }
  }
  ~BrotliCompressor() override { BrotliEncoderDestroyInstance(state_); }
  void feed(std::string_view in, std::string& out) override { run(in, BROTLI_OPERATION_FLUSH, out); }
  void finish(std::string_view last, std::string& out) override { run(last, BROTLI_OPERATION_FINISH, out); }

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

// zstd contexts are made to be reused (their tables stay allocated): each thread keeps a few.
class ZstdContexts {
 public:
  ~ZstdContexts() {
    for (auto* c : idle_) ZSTD_freeCCtx(c);
  }
  ZSTD_CCtx* take() {
    if (idle_.empty()) return ZSTD_createCCtx();
    ZSTD_CCtx* c = idle_.back();
    idle_.pop_back();
    return c;
  }
  void give_back(ZSTD_CCtx* c) {
    if (idle_.size() >= kKept) {
      ZSTD_freeCCtx(c);
      return;
    }
    ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
    idle_.push_back(c);
  }

 private:
  static constexpr std::size_t kKept = 16;
  std::vector<ZSTD_CCtx*> idle_;
};

ZstdContexts& zstd_contexts() {
  thread_local ZstdContexts contexts;
  return contexts;
}

class ZstdCompressor final : public Compressor {
 public:
  ZstdCompressor(int level, std::uint64_t exact_size) : ctx_(zstd_contexts().take()) {
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, std::clamp(level, 1, 19));
    // The declared size picks zstd's parameters for small inputs (and goes in the frame).
    if (exact_size > 0) ZSTD_CCtx_setPledgedSrcSize(ctx_, exact_size);
  }
  ~ZstdCompressor() override { zstd_contexts().give_back(ctx_); }
  void feed(std::string_view in, std::string& out) override { run(in, ZSTD_e_flush, out); }
  void finish(std::string_view last, std::string& out) override { run(last, ZSTD_e_end, out); }

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

std::unique_ptr<Compressor> make_compressor(Coding coding, int level, std::uint64_t exact_size) {
  switch (coding) {
    case Coding::gzip: return std::make_unique<GzipCompressor>(level, exact_size);
    case Coding::br: return std::make_unique<BrotliCompressor>(level, exact_size);
    case Coding::zstd: return std::make_unique<ZstdCompressor>(level, exact_size);
  }
  return nullptr;
}

}  // namespace portico::http
