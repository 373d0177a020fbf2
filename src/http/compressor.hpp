// Streaming content codings for compressed responses (RFC 9110 8.4.1): gzip (zlib), br
// (Debian's brotli) and zstd. A compressor takes a body piece by piece and gives back encoded
// bytes as it goes, flushed at each piece so a streamed answer (server-sent events, a slow
// service) reaches the client without waiting for the end.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace portico::http {

enum class Coding { gzip, br, zstd };

std::string_view coding_name(Coding coding);  // "gzip", "br", "zstd"

class Compressor {
 public:
  virtual ~Compressor() = default;
  // Encodes `in` and appends what is ready (flushed) to `out`.
  virtual void feed(std::string_view in, std::string& out) = 0;
  // Ends the stream: appends the rest and the coding's trailer to `out`.
  virtual void finish(std::string& out) = 0;
};

// `level`: the coding's own scale (gzip 1-9, br 0-11, zstd 1-19); out of range is clamped.
std::unique_ptr<Compressor> make_compressor(Coding coding, int level);

}  // namespace portico::http
