#include "http/gzip.hpp"

#include <zlib.h>

namespace portico::http {

GunzipResult gunzip(std::string_view in, std::string& out, std::size_t max_out) {
  out.clear();
  z_stream z{};
  // 16 + MAX_WBITS: a gzip wrapper, not zlib's.
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return GunzipResult::malformed;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char chunk[16384];
  GunzipResult result = GunzipResult::ok;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    int rc = inflate(&z, Z_NO_FLUSH);
    std::size_t produced = sizeof chunk - z.avail_out;
    if (out.size() + produced > max_out) {
      result = GunzipResult::too_large;
      break;
    }
    out.append(chunk, produced);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      if (inflateReset(&z) != Z_OK) {  // another member follows
        result = GunzipResult::malformed;
        break;
      }
      continue;
    }
    if (rc != Z_OK && !(rc == Z_BUF_ERROR && produced > 0)) {
      result = GunzipResult::malformed;  // corrupt data, or the input ended inside a member
      break;
    }
  }
  inflateEnd(&z);
  if (result != GunzipResult::ok) out.clear();
  return result;
}

void gzip(std::string_view in, std::string& out, int level) {
  out.clear();
  z_stream z{};
  deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  out.resize(deflateBound(&z, static_cast<uLong>(in.size())));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);  // deflateBound() leaves room for everything in one call
  out.resize(z.total_out);
  deflateEnd(&z);
}

}  // namespace portico::http
