#include "proxy/h2_outgoing_body.hpp"

#include <algorithm>
#include <cstring>

namespace portico::proxy {

void H2OutgoingBody::start(http::BodyFraming framing, std::uint64_t content_length) {
  framing_ = framing;
  left_ = content_length;
  complete_ = framing == http::BodyFraming::none || (framing == http::BodyFraming::content_length && left_ == 0);
}

bool H2OutgoingBody::feed(std::string_view bytes) {
  if (complete_) return false;
  std::size_t before = queued();
  switch (framing_) {
    case http::BodyFraming::content_length: {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), left_));
      queue(bytes.substr(0, n));
      left_ -= n;
      if (left_ == 0) complete_ = true;
      break;
    }
    case http::BodyFraming::chunked: {
      chunk_bytes_.append(bytes);
      std::string_view input(chunk_bytes_);
      for (;;) {
        auto step = chunks_.next(input);
        input.remove_prefix(step.consumed);
        if (step.status == http::ChunkedDecoder::Status::data) {
          queue(step.data);
          continue;
        }
        if (step.status == http::ChunkedDecoder::Status::done) complete_ = true;
        // (An error cannot come from the lifecycle's own framing; the body then ends short.)
        break;
      }
      chunk_bytes_.erase(0, chunk_bytes_.size() - input.size());
      break;
    }
    default:
      queue(bytes);  // until the lifecycle ends (end())
      break;
  }
  return queued() > before;
}

void H2OutgoingBody::queue(std::string_view bytes) {
  if (out_at_ == out_.size()) {
    out_.clear();
    out_at_ = 0;
  } else if (out_at_ > kHighWater) {
    out_.erase(0, out_at_);
    out_at_ = 0;
  }
  out_.append(bytes);
}

std::size_t H2OutgoingBody::take(std::uint8_t* out, std::size_t size, bool& ended) {
  std::size_t n = std::min(size, queued());
  std::memcpy(out, out_.data() + out_at_, n);
  out_at_ += n;
  ended = complete_ && queued() == 0;
  return n;
}

void H2OutgoingBody::reset() {
  framing_ = http::BodyFraming::none;
  left_ = 0;
  chunks_.reset();
  chunks_.keep_trailers();
  chunk_bytes_.clear();
  out_.clear();
  out_at_ = 0;
  complete_ = true;
}

void H2OutgoingBody::release_large_buffers(std::size_t keep) {
  for (std::string* s : {&chunk_bytes_, &out_}) {
    if (s->capacity() > keep) std::string().swap(*s);
  }
}

}  // namespace portico::proxy
