// The body one side of an HTTP/2 stream sends, made from the HTTP/1.1 bytes the request
// lifecycle writes: the framing undone (content-length, chunked, or "until the lifecycle
// ends"), the bytes queued for nghttp2's data source. Shared by the client's stream (the
// response, proxy/h2_stream.hpp) and Portico's own stream to a gRPC service (the request,
// proxy/h2_client.hpp). A chunked body's trailer section is kept (trailers()).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/chunked.hpp"
#include "http/header_view.hpp"

namespace portico::proxy {

class H2OutgoingBody {
 public:
  H2OutgoingBody() { chunks_.keep_trailers(); }
  // A new body with the head's framing (none: complete at once).
  void start(http::BodyFraming framing, std::uint64_t content_length);
  // Body bytes as written (framed); returns true when some data was queued. Bytes past the
  // end of the body are ignored.
  bool feed(std::string_view bytes);
  // The lifecycle ended an until-close body.
  void end() { complete_ = true; }
  bool complete() const { return complete_; }
  bool until_close() const { return framing_ == http::BodyFraming::until_close; }
  std::size_t queued() const { return out_.size() - out_at_; }
  // Up to `size` queued bytes into `out`; `ended` is set when the body is complete and all
  // of it was taken.
  std::size_t take(std::uint8_t* out, std::size_t size, bool& ended);
  // The trailer section of a chunked body ("name: value\r\n" lines), once complete.
  const std::string& trailers() const { return chunks_.trailers(); }
  void reset();
  void release_large_buffers(std::size_t keep);

  // Queued bytes beyond which the side that writes waits.
  static constexpr std::size_t kHighWater = 64 * 1024;

 private:
  void queue(std::string_view bytes);

  http::BodyFraming framing_ = http::BodyFraming::none;
  std::uint64_t left_ = 0;
  http::ChunkedDecoder chunks_;
  std::string chunk_bytes_;  // chunked bytes not yet decoded
  std::string out_;          // body bytes queued for nghttp2
  std::size_t out_at_ = 0;
  bool complete_ = true;
};

}  // namespace portico::proxy
