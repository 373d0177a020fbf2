// Streaming content codings for compressed responses (RFC 9110 8.4.1): gzip (zlib), br
// (Debian's brotli) and zstd. A compressor takes a body piece by piece and gives back encoded
// bytes as it goes, flushed at each piece so a streamed answer (server-sent events, a slow
// service) reaches the client without waiting for the end.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/body_transform.hpp"

namespace portico::http {

enum class Coding { gzip, br, zstd };

std::string_view coding_name(Coding coding);  // "gzip", "br", "zstd"

// feed() encodes `in` and appends what is ready (flushed) to `out`; finish() encodes the last
// piece and appends the rest and the coding's trailer. A body that came whole is so encoded
// in one pass (no flush point; brotli then sets up only the part of its tables the body uses).
class Compressor : public BodyTransform {};

// `level`: the coding's own scale (gzip 1-9, br 0-11, zstd 1-19); out of range is clamped.
// `exact_size`: the body's length when known (0: unknown). A small body then gets a window and
// tables its size (as nginx sizes its gzip window to Content-Length): setting up a coding's
// full tables costs more than encoding 2 KB. With zstd the frame also declares the size, so
// the body must then be exactly that long.
std::unique_ptr<Compressor> make_compressor(Coding coding, int level, std::uint64_t exact_size = 0);

}  // namespace portico::http
