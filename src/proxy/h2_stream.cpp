#include "proxy/h2_stream.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>

#include "core/uuid.hpp"
#include "crypto/base64.hpp"
#include "http/grpc.hpp"
#include "http/h1_parser.hpp"
#include "proxy/h2_server.hpp"

namespace portico::proxy {

namespace asio = boost::asio;

namespace {

constexpr auto kForever = std::chrono::steady_clock::time_point::max();

// The response heads come from the lifecycle, which built them within its own limits.
const http::ParserLimits& response_limits() {
  static const http::ParserLimits limits{1 << 20, 1 << 20, 10000};
  return limits;
}

// RFC 6455 4.1: the key is 16 random bytes; it only has to be fresh (the service proves it
// read the handshake by hashing it), not secret.
std::string websocket_key() {
  std::uint64_t nonce[2] = {fast_random64(), fast_random64()};
  return crypto::base64_encode(std::string_view(reinterpret_cast<const char*>(nonce), sizeof nonce));
}

}  // namespace

H2Stream::H2Stream(H2Server& server, std::int32_t id, std::size_t max_head_bytes, const asio::any_io_executor& executor)
    : server_(server), id_(id), fields_(max_head_bytes), read_signal_(executor, kForever), write_signal_(executor, kForever) {}

void H2Stream::reuse(std::int32_t id) {
  id_ = id;
  fields_.reset();
  head_.clear();
  head_at_ = 0;
  body_in_.clear();
  body_in_at_ = 0;
  chunked_in_ = false;
  framing_.clear();
  chunk_left_ = 0;
  last_chunk_made_ = request_ended_ = method_head_ = websocket_ = tunnel_open_ = false;
  out_ = Out::head;
  head_out_.clear();
  response_head_.clear_head();
  body_out_.reset();
  closed_ = reset_ = lifecycle_started_ = lifecycle_done_ = false;
}

void H2Stream::release_large_buffers() {
  constexpr std::size_t kKeep = 1024;  // a small request's head and answer fit; 128 spares stay ~200 KiB
  for (std::string* s : {&head_, &body_in_, &framing_, &head_out_}) {
    if (s->capacity() > kKeep) std::string().swap(*s);
  }
  fields_.release_large_buffers(kKeep);
  body_out_.release_large_buffers(kKeep);
  response_fields_.release_large_buffers(kKeep);
  trailer_fields_.release_large_buffers(kKeep);
}

void H2Stream::headers_done(bool end_stream) {
  websocket_ = fields_.websocket();
  head_ = fields_.finish(!end_stream, chunked_in_, websocket_ ? websocket_key() : std::string());
  method_head_ = fields_.method() == "HEAD";
  if (end_stream) request_ended_ = true;
}

int H2Stream::refusal_status() const {
  if (fields_.too_large()) return 431;
  if (fields_.conflicting_host()) return 400;
  if (fields_.unsupported_protocol()) return 501;
  return 0;
}

std::string_view H2Stream::refusal_message() const {
  if (fields_.too_large()) return "request header fields too large";
  if (fields_.conflicting_host()) return "Host header does not match :authority";
  return "only the websocket protocol is supported with extended CONNECT";
}

void H2Stream::receive_data(const std::uint8_t* data, std::size_t size) {
  if (body_in_at_ == body_in_.size()) {
    body_in_.clear();
    body_in_at_ = 0;
  }
  body_in_.append(reinterpret_cast<const char*>(data), size);
  read_signal_.cancel();
}

void H2Stream::request_ended() {
  request_ended_ = true;
  read_signal_.cancel();
}

void H2Stream::closed() {
  closed_ = true;
  if (out_ != Out::done || !request_ended_) abort();  // reset before the exchange ended
}

void H2Stream::abort() {
  reset_ = true;
  read_signal_.cancel();
  write_signal_.cancel();
}

void H2Stream::wake(void* self) {
  auto* stream = static_cast<H2Stream*>(self);
  stream->read_signal_.cancel();
  stream->write_signal_.cancel();
}

asio::awaitable<void> H2Stream::wait_readable() {
  read_signal_.expires_at(kForever);
  auto [ec] = co_await read_signal_.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;  // woken by cancel(): the caller looks again
}

asio::awaitable<void> H2Stream::wait_writable() {
  write_signal_.expires_at(kForever);
  auto [ec] = co_await write_signal_.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;
}

std::size_t H2Stream::read_body(char* data, std::size_t size) {
  std::size_t n = std::min(size, body_in_.size() - body_in_at_);
  std::memcpy(data, body_in_.data() + body_in_at_, n);
  body_in_at_ += n;
  server_.consume(id_, n);  // gives the bytes back to the client's window
  return n;
}

std::size_t H2Stream::read(char* data, std::size_t size, error_code& ec) {
  ec = {};
  if (reset_) {
    ec = asio::error::connection_reset;
    return 0;
  }
  std::size_t done = 0;
  auto copy = [&](std::string& from, std::size_t& at) {
    std::size_t n = std::min(size - done, from.size() - at);
    std::memcpy(data + done, from.data() + at, n);
    at += n;
    done += n;
  };
  copy(head_, head_at_);
  while (done < size) {
    if (!framing_.empty()) {
      std::size_t at = 0;
      copy(framing_, at);
      framing_.erase(0, at);
      continue;
    }
    std::size_t available = body_in_.size() - body_in_at_;
    if (!chunked_in_) {
      if (available == 0) break;
      done += read_body(data + done, size - done);
      continue;
    }
    if (chunk_left_ > 0) {
      if (available == 0) break;
      std::size_t n = read_body(data + done, static_cast<std::size_t>(std::min<std::uint64_t>(size - done, chunk_left_)));
      done += n;
      chunk_left_ -= n;
      if (chunk_left_ == 0) framing_ = "\r\n";
    } else if (available > 0) {
      chunk_left_ = available;
      char line[http::kChunkSizeLineMax];
      framing_.assign(line, http::write_chunk_size_line(available, line));
    } else if (request_ended_ && !last_chunk_made_) {
      last_chunk_made_ = true;
      framing_ = "0\r\n\r\n";
    } else {
      break;
    }
  }
  if (done == 0) {
    bool all_read = head_at_ == head_.size() && body_in_at_ == body_in_.size() && framing_.empty() &&
                    (!chunked_in_ || last_chunk_made_);
    if (request_ended_ && all_read) ec = asio::error::eof;
    else ec = asio::error::would_block;
  }
  return done;
}

std::size_t H2Stream::write(Buffers buffers, std::size_t skip, error_code& ec) {
  ec = {};
  if (reset_) {
    ec = asio::error::connection_reset;
    return 0;
  }
  if (out_ == Out::body && queued() >= kHighWater) {
    ec = asio::error::would_block;
    return 0;
  }
  bool failed = false;
  std::size_t taken = for_each_piece(buffers, skip, [&](std::string_view bytes) { return !(failed = !feed(bytes)); });
  if (failed) {
    server_.reset(id_, NGHTTP2_INTERNAL_ERROR);
    abort();
    ec = asio::error::connection_reset;
    return taken;
  }
  if (queued() > 0 || body_out_.complete()) server_.resume(id_);
  return taken;
}

bool H2Stream::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    switch (out_) {
      case Out::head:
        if (!feed_head(bytes)) return false;
        break;
      case Out::body:
        feed_body(bytes);
        return true;
      case Out::done:
        return true;  // (nothing follows a complete response)
    }
  }
  return true;
}

bool H2Stream::feed_head(std::string_view& bytes) {
  // The head usually comes whole in one write (with the body's first bytes): it is parsed in
  // place, and only a head written in pieces is gathered in head_out_.
  std::size_t before = head_out_.size();
  if (before > 0) head_out_.append(bytes);
  std::string_view input = before > 0 ? std::string_view(head_out_) : bytes;
  auto outcome = http::parse_response_head(input, response_limits(), method_head_, response_head_);
  if (outcome.state == http::ParseState::error) return false;
  if (outcome.state == http::ParseState::incomplete) {
    if (before == 0) head_out_.assign(bytes);
    bytes = {};
    return true;
  }
  bytes.remove_prefix(response_head_.head_size - before);  // the rest is body (or the next head)
  if (response_head_.status == 101) return open_tunnel();
  response_fields_.build(response_head_);
  if (response_head_.status < 200) {
    // Interim (100 Continue, 103 Early Hints): non-final HEADERS; the final head follows.
    server_.submit_interim(*this, response_fields_.fields());
    head_out_.clear();
    return true;
  }
  body_out_.start(response_head_.framing, response_head_.content_length);
  bool has_body = !body_out_.complete();
  out_ = has_body ? Out::body : Out::done;
  // A gRPC answer without a body is "trailers-only": its status fields end the stream, and
  // the content-length the HTTP/1.1 head needed for its framing would be read as metadata.
  if (!has_body && http::is_grpc_content_type(response_head_.find("content-type"))) response_fields_.drop("content-length");
  server_.submit_response(*this, response_fields_.fields(), has_body);
  head_out_.clear();
  return true;
}

bool H2Stream::open_tunnel() {
  // Only a WebSocket asks to switch protocols (the lifecycle relays a 101 only then).
  if (!websocket_) return false;
  // RFC 8441 5: the service's 101 is a 200 to the client, without the HTTP/1.1 handshake's
  // proof (Sec-WebSocket-Accept answers the gateway's key, which the client never saw); what
  // follows are the tunnel's bytes, until either side ends.
  response_head_.status = 200;
  response_fields_.build(response_head_);
  response_fields_.drop("sec-websocket-accept");
  body_out_.start(http::BodyFraming::until_close, 0);
  out_ = Out::body;
  tunnel_open_ = true;
  server_.submit_response(*this, response_fields_.fields(), true);
  head_out_.clear();
  return true;
}

void H2Stream::end_tunnel_output() {
  if (out_ != Out::body || reset_) return;
  out_ = Out::done;
  body_out_.end();
  server_.resume(id_);
}

void H2Stream::end_tunnel() {
  if (reset_) return;
  if (out_ != Out::done || !request_ended_) server_.reset(id_, NGHTTP2_CANCEL);
  abort();
}

void H2Stream::feed_body(std::string_view bytes) {
  if (body_out_.feed(bytes)) server_.output_queued();
  if (body_out_.complete()) out_ = Out::done;
}

long H2Stream::take(std::uint8_t* out, std::size_t size, std::uint32_t* flags) {
  bool ended = false;
  std::size_t n = body_out_.take(out, size, ended);
  if (ended) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!body_out_.trailers().empty()) {  // the stream ends with a trailing HEADERS instead
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      trailer_fields_.build_trailers(body_out_.trailers());
      server_.submit_trailers(*this, trailer_fields_.fields());
    }
  } else if (n == 0) {
    return NGHTTP2_ERR_DEFERRED;
  }
  if (queued() < kHighWater / 2) write_signal_.cancel();
  return static_cast<long>(n);
}

void H2Stream::finish() {
  lifecycle_done_ = true;
  if (!reset_) {
    if (out_ == Out::body && body_out_.until_close()) {
      out_ = Out::done;
      body_out_.end();
      server_.resume(id_);
    } else if (out_ != Out::done) {
      server_.reset(id_, NGHTTP2_INTERNAL_ERROR);  // a response cut short (as nginx does)
    }
  }
  server_.stream_finished(*this);  // may delete this
}

}  // namespace portico::proxy
