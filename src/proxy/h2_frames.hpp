// What both ends of Portico's HTTP/2 connections (proxy/h2_server.hpp, proxy/h2_client.hpp)
// do the same way with their nghttp2 session.
#pragma once

#include <nghttp2/nghttp2.h>

#include <string>

namespace portico::proxy {

// Frames gathered into one write: a batch of the session's queued frames.
inline constexpr std::size_t kH2WriteBatch = 64 * 1024;

// Appends the session's queued frames to `out` (cleared first) until about kH2WriteBatch
// bytes; false when the session failed.
inline bool gather_frames(nghttp2_session* session, std::string& out) {
  out.clear();
  while (out.size() < kH2WriteBatch) {
    const std::uint8_t* data = nullptr;
    auto n = nghttp2_session_mem_send(session, &data);
    if (n < 0) return false;
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace portico::proxy
