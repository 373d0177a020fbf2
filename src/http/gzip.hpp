// gzip (RFC 1952) through zlib, for plugins that rewrite encoded bodies.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace portico::http {

enum class GunzipResult { ok, malformed, too_large };

// Decodes a gzip body (several members, as RFC 1952 allows, are decoded one after the
// other) into `out`; stops with too_large as soon as the output would pass `max_out` bytes,
// so a small body that expands without bound (a "zip bomb") costs at most max_out.
GunzipResult gunzip(std::string_view in, std::string& out, std::size_t max_out);

// Encodes `in` as one gzip member at `level` (1-9) into `out`.
void gzip(std::string_view in, std::string& out, int level = 6);

}  // namespace portico::http
