// Serialises the heads Portico sends: the upstream request (rebuilt from the parsed
// request, never copied from client bytes) and the downstream response.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <string>
#include <string_view>

#include <cstring>

#include "core/byte_buffer.hpp"
#include "http/header_view.hpp"

namespace portico::plugin {
class HeaderEdits;
}

namespace portico::proxy {

// Builds a message head in a buffer taken from the worker's pool, so steady-state
// requests allocate nothing and idle connections hold no head memory (release()).
class HeadBuilder {
 public:
  void attach(BufferPool* pool) { buf_.attach(pool); }
  void clear() {
    buf_.acquire();
    buf_.consume(buf_.size());
  }
  std::string_view view() const { return buf_.readable(); }
  void release() {
    buf_.consume(buf_.size());
    buf_.release();
  }

  HeadBuilder& raw(std::string_view s) {
    if (s.empty()) return *this;
    if (buf_.writable() < s.size()) buf_.grow((buf_.capacity() + s.size()) * 2);
    std::memcpy(buf_.write_ptr(), s.data(), s.size());
    buf_.commit(s.size());
    return *this;
  }
  HeadBuilder& field(std::string_view name, std::string_view value) {
    std::size_t n = name.size() + value.size() + 4;
    if (buf_.writable() < n) buf_.grow((buf_.capacity() + n) * 2);
    char* p = buf_.write_ptr();
    std::memcpy(p, name.data(), name.size());
    p += name.size();
    p[0] = ':';
    p[1] = ' ';
    if (!value.empty()) std::memcpy(p + 2, value.data(), value.size());  // (an empty view may have no data)
    p += 2 + value.size();
    p[0] = '\r';
    p[1] = '\n';
    buf_.commit(n);
    return *this;
  }
  HeadBuilder& field(std::string_view name, std::uint64_t value);
  HeadBuilder& number(std::uint64_t value);
  HeadBuilder& end() { return raw("\r\n"); }

 private:
  ByteBuffer buf_;
};

// What the upstream request carries besides the client's own fields.
struct ForwardingInfo {
  std::string_view method;
  std::string_view upstream_target;  // path + optional "?query"
  std::string_view host_header;      // Host sent upstream
  std::string_view client_ip;        // peer address as text (appended to X-Forwarded-For)
  std::string_view real_ip;          // the client's address (X-Real-IP): the peer's, or one a trusted peer forwarded
  std::string_view scheme;           // "http" / "https"
  std::string_view server_port;      // listener port as text
  std::string_view forwarded_prefix; // stripped prefix, empty when none
  std::string_view forwarded_host;   // request host without port
  bool trusted_peer = false;         // keep client-supplied X-Forwarded-*
  http::BodyFraming framing = http::BodyFraming::none;
  std::uint64_t content_length = 0;
  const plugin::HeaderEdits* edits = nullptr;  // plugins' header edits (identity headers...)
  // The request id header (a client's field of that name is replaced); empty: none sent.
  std::string_view request_id_header;
  std::string_view request_id;
  bool websocket = false;  // a WebSocket handshake: Kong's "Connection: keep-alive, Upgrade" and "Upgrade: websocket"
};

void build_upstream_request(HeadBuilder& out, const http::RequestHead& request, const ForwardingInfo& info);

}  // namespace portico::proxy
