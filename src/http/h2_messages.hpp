// HTTP/2 messages as the HTTP/1.1 request lifecycle sees them, and back.
//
// Why a translation and not a second lifecycle: every HTTP/2 stream goes through the same
// router, plugins and upstream path as an HTTP/1.1 request (proxy/h2_stream.hpp). The
// stream's header fields become an HTTP/1.1 request head that the strict parser reads
// (so the same limits and checks apply: 414, 431, 400), and the HTTP/1.1 response head the
// lifecycle writes becomes the stream's HEADERS. Neither side of the translation can smuggle
// a field: nghttp2 has already refused names that are not lowercase tokens and values with
// CR, LF or NUL (RFC 9113 8.2.1), and the head is parsed again strictly.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "http/header_view.hpp"

namespace portico::http {

// Collects one HTTP/2 request's fields (pseudo-header rules already checked by nghttp2) into
// the equivalent HTTP/1.1 head (RFC 9113 8.3.1): :authority becomes Host, cookie crumbs are
// joined with "; " (8.2.3), "te: trailers" is dropped, and a body without content-length is
// framed as chunked (the stream frames the DATA it delivers).
//
// A WebSocket over HTTP/2 (RFC 8441: CONNECT with ":protocol: websocket") becomes the HTTP/1.1
// handshake (GET with Connection: Upgrade, Upgrade: websocket and a Sec-WebSocket-Key of the
// gateway's), so an HTTP/1.1 service gets a WebSocket handshake it knows; the stream's DATA
// are then the tunnel's bytes, not a body.
class H2RequestHead {
 public:
  // `max_bytes`: beyond this many bytes of fields the head is not kept (too_large()).
  explicit H2RequestHead(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  // Empty again for the next stream, keeping the strings' storage.
  void reset();
  // Frees the strings' storage beyond `keep` bytes each.
  void release_large_buffers(std::size_t keep);

  void add(std::string_view name, std::string_view value);

  // More field bytes than max_bytes arrived: the request is answered 431 unread.
  bool too_large() const { return too_large_; }
  // A Host field that names another authority than :authority (RFC 9113 8.3.1): 400.
  bool conflicting_host() const { return conflicting_host_; }
  std::string_view method() const { return method_; }
  // RFC 8441's extended CONNECT for a WebSocket.
  bool websocket() const;
  // A :protocol other than websocket (no other is offered): 501.
  bool unsupported_protocol() const { return !protocol_.empty() && !websocket(); }

  // The HTTP/1.1 head ("METHOD target HTTP/1.1\r\n...\r\n\r\n"). `body_follows`: the
  // HEADERS frame did not end the stream; the body is then chunked (`chunked` set) unless a
  // content-length was given. A WebSocket's head takes `websocket_key` (16 random bytes in
  // base64, RFC 6455 4.1) as its Sec-WebSocket-Key and is never chunked.
  std::string finish(bool body_follows, bool& chunked, std::string_view websocket_key = {}) const;

 private:
  void keep(std::size_t bytes);

  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  bool too_large_ = false;
  bool conflicting_host_ = false;
  bool has_content_length_ = false;
  std::string method_, path_, authority_, host_, cookie_, protocol_;
  std::string fields_;  // "name: value\r\n" for the other fields
};

// One response field for HTTP/2 (names lowercase), viewing a ResponseFields' storage.
struct H2Field {
  std::string_view name;
  std::string_view value;
};

// The HTTP/2 fields of a parsed HTTP/1.1 response head: ":status" first, names lowercased,
// connection-specific fields dropped (RFC 9113 8.2.2: Connection and the fields it names,
// Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade). The values view the head's
// bytes: fields() is valid as long as those are (nghttp2 copies them at submission).
class H2ResponseFields {
 public:
  void build(const ResponseHead& head);
  // The fields of a chunked body's trailer section ("name: value\r\n" lines, validated by
  // the chunked decoder), for a trailing HEADERS frame; connection-specific ones are dropped.
  // The values view `lines`.
  void build_trailers(std::string_view lines);
  const std::vector<H2Field>& fields() const { return fields_; }
  // Leaves out the field named `name` (lowercase).
  void drop(std::string_view name);
  void release_large_buffers(std::size_t keep);

 private:
  std::string storage_;
  std::vector<H2Field> fields_;
};

// The HTTP/1.1 connection preface's first bytes of an h2c client with prior knowledge
// ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", RFC 9113 3.4): whether `first_bytes` begin it (as
// far as they go).
bool starts_h2_preface(std::string_view first_bytes);

}  // namespace portico::http
