#include "proxy/body_pump.hpp"

#include <array>
#include <boost/asio/error.hpp>
#include <cstdio>

#include "http/chunked.hpp"

namespace portico::proxy {
namespace {

constexpr std::size_t kMaxBuffers = 48;
constexpr std::size_t kMaxChunkHeaders = 15;  // each data piece uses 3 buffers when chunking

PumpFailure classify_read_error(const error_code& ec) {
  if (ec == boost::asio::error::eof) return PumpFailure::source_closed;
  if (ec == boost::asio::error::timed_out) return PumpFailure::source_timeout;
  return PumpFailure::source_error;
}

// Keeps a copy of body bytes for spec.tee, until they pass spec.tee_max.
void tee(const PumpSpec& spec, PumpResult& result, std::string_view data) {
  if (spec.tee == nullptr || result.tee_overflowed) return;
  if (spec.tee->size() + data.size() > spec.tee_max) {
    result.tee_overflowed = true;
    spec.tee->clear();
    return;
  }
  spec.tee->append(data);
}

// Prefix and whole body as two buffers, when the fast path applies.
bool buffered_parts(const Side& source, const PumpSpec& spec, std::array<boost::asio::const_buffer, 2>& parts) {
  if (spec.chunk_output || spec.transform != nullptr) return false;
  std::size_t body = 0;
  if (spec.framing == http::BodyFraming::content_length) {
    if (source.buffer.size() < spec.content_length) return false;
    if (spec.max_body != 0 && spec.content_length > spec.max_body) return false;  // pump_body reports it
    body = static_cast<std::size_t>(spec.content_length);
  } else if (spec.framing != http::BodyFraming::none) {
    return false;
  }
  parts[0] = boost::asio::buffer(spec.prefix.data(), spec.prefix.size());
  parts[1] = boost::asio::buffer(source.buffer.readable().data(), body);
  return true;
}

}  // namespace

FastSend send_buffered_now(Side& source, Side& sink, const PumpSpec& spec, std::size_t& written, PumpResult& result) {
  std::array<boost::asio::const_buffer, 2> parts;
  if (!buffered_parts(source, spec, parts)) return FastSend::not_applicable;
  if (spec.tee != nullptr) {  // the whole body is here: kept (and handed over) before it is sent
    tee(spec, result, source.buffer.readable().substr(0, parts[1].size()));
    if (!result.tee_overflowed && spec.tee_complete) spec.tee_complete();
  }
  error_code ec;
  written = write_now(sink, parts, ec);
  if (ec) {
    result.failure = PumpFailure::sink_failed;
    return FastSend::done;
  }
  if (written < parts[0].size() + parts[1].size()) return FastSend::partial;
  source.buffer.consume(parts[1].size());
  result.body_bytes = result.body_bytes_out = parts[1].size();
  result.wrote_anything = true;
  return FastSend::done;
}

awaitable<PumpResult> send_body_rest(Side& source, Side& sink, PumpSpec spec, FastSend fast, std::size_t written) {
  if (fast != FastSend::partial) co_return co_await pump_body(source, sink, spec);
  PumpResult result;
  std::array<boost::asio::const_buffer, 2> parts;
  buffered_parts(source, spec, parts);  // same answer as in send_buffered_now: nothing changed
  error_code ec = co_await write_rest(sink, parts, written);
  result.wrote_anything = true;
  if (ec) {
    result.failure = ec == boost::asio::error::timed_out ? PumpFailure::sink_timeout : PumpFailure::sink_failed;
    co_return result;
  }
  source.buffer.consume(parts[1].size());  // (kept for spec.tee by send_buffered_now)
  result.body_bytes = result.body_bytes_out = parts[1].size();
  co_return result;
}

awaitable<PumpResult> pump_body(Side& source, Side& sink, PumpSpec spec) {
  PumpResult result;
  std::array<boost::asio::const_buffer, kMaxBuffers> bufs;
  std::array<std::array<char, http::kChunkSizeLineMax>, kMaxChunkHeaders> chunk_lines;
  http::ChunkedDecoder own_decoder;
  http::ChunkedDecoder& decoder = spec.decoder != nullptr ? *spec.decoder : own_decoder;
  if (spec.forward_trailers || spec.transform != nullptr) decoder.keep_trailers();
  std::string last_chunk;  // with forwarded trailers
  std::uint64_t remaining = spec.content_length;
  bool finished = spec.framing == http::BodyFraming::none;
  bool prefix_pending = !spec.prefix.empty();
  static constexpr std::string_view kCrlf = "\r\n";
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  std::string encoded;  // this round's transformed bytes (spec.transform)
  // The round's last body piece, held back so that a body which ends in this round is
  // encoded with the end (Compressor::finish): a small body comes whole and is encoded in one pass.
  std::string_view unencoded;

  for (;;) {
    std::size_t nbufs = 0, nlines = 0, consumed = 0;
    encoded.clear();
    if (prefix_pending) bufs[nbufs++] = boost::asio::buffer(spec.prefix.data(), spec.prefix.size());
    std::string_view avail = finished ? std::string_view{} : source.buffer.readable();

    // Puts bytes for the sink in the gather list: as one chunk when chunk_output.
    auto send_piece = [&](std::string_view d) {
      result.body_bytes_out += d.size();
      if (spec.chunk_output) {
        auto& line = chunk_lines[nlines++];
        bufs[nbufs++] = boost::asio::buffer(line.data(), http::write_chunk_size_line(d.size(), line.data()));
        bufs[nbufs++] = boost::asio::buffer(d.data(), d.size());
        bufs[nbufs++] = boost::asio::buffer(kCrlf.data(), kCrlf.size());
      } else {
        bufs[nbufs++] = boost::asio::buffer(d.data(), d.size());
      }
    };
    // Adds one run of body bytes; false when it breaks the limit.
    auto add_data = [&](std::string_view d) {
      result.body_bytes += d.size();
      if (spec.max_body != 0 && result.body_bytes > spec.max_body) return false;
      tee(spec, result, d);
      if (spec.transform != nullptr) {
        if (!unencoded.empty()) spec.transform->feed(unencoded, encoded);  // sent once the round's data is all in
        unencoded = d;
      } else {
        send_piece(d);
      }
      return true;
    };

    switch (finished ? http::BodyFraming::none : spec.framing) {
      case http::BodyFraming::none:
        break;
      case http::BodyFraming::content_length: {
        std::size_t take = avail.size() < remaining ? avail.size() : static_cast<std::size_t>(remaining);
        if (take > 0 && !add_data(avail.substr(0, take))) {
          result.failure = PumpFailure::too_large;
          co_return result;
        }
        consumed = take;
        remaining -= take;
        if (remaining == 0) finished = true;
        break;
      }
      case http::BodyFraming::until_close:
        if (!avail.empty() && !add_data(avail)) {
          result.failure = PumpFailure::too_large;
          co_return result;
        }
        consumed = avail.size();
        break;
      case http::BodyFraming::chunked:
        while (nbufs + 4 <= kMaxBuffers && nlines < kMaxChunkHeaders) {
          auto step = decoder.next(avail.substr(consumed));
          if (step.status == http::ChunkedDecoder::Status::error) {
            result.failure = PumpFailure::source_malformed;
            co_return result;
          }
          if (step.status == http::ChunkedDecoder::Status::need_more) break;
          consumed += step.consumed;
          if (step.status == http::ChunkedDecoder::Status::done) {
            finished = true;
            break;
          }
          if (!step.data.empty() && !add_data(step.data)) {
            result.failure = PumpFailure::too_large;
            co_return result;
          }
        }
        break;
    }
    if (spec.transform != nullptr) {
      if (finished) {
        spec.transform->trailers(decoder.trailers());
        spec.transform->finish(unencoded, encoded);
      } else if (!unencoded.empty()) {
        spec.transform->feed(unencoded, encoded);
      }
      unencoded = {};
      if (!encoded.empty()) send_piece(encoded);
    }
    if (finished && spec.chunk_output) {
      if (spec.forward_trailers && !decoder.trailers().empty()) {
        last_chunk.append("0\r\n").append(decoder.trailers()).append("\r\n");
        bufs[nbufs++] = boost::asio::buffer(last_chunk.data(), last_chunk.size());
      } else {
        bufs[nbufs++] = boost::asio::buffer(kLastChunk.data(), kLastChunk.size());
      }
    }
    if (finished && spec.tee != nullptr && !result.tee_overflowed && spec.tee_complete) spec.tee_complete();

    if (nbufs > 0) {
      error_code ec = co_await write_all(sink, std::span<const boost::asio::const_buffer>(bufs.data(), nbufs));
      if (ec) {
        result.failure = ec == boost::asio::error::timed_out ? PumpFailure::sink_timeout : PumpFailure::sink_failed;
        co_return result;
      }
      result.wrote_anything = true;
      prefix_pending = false;
    }
    source.buffer.consume(consumed);
    if (finished) co_return result;
    if (consumed > 0 && spec.framing == http::BodyFraming::chunked && !source.buffer.empty()) {
      continue;  // the gather list was full; more complete chunks may be buffered
    }

    error_code ec = co_await read_more(source);
    if (ec == boost::asio::error::eof && spec.framing == http::BodyFraming::until_close) {
      finished = true;
      continue;
    }
    if (ec == boost::asio::error::no_buffer_space) {
      result.failure = PumpFailure::source_malformed;
      co_return result;
    }
    if (ec) {
      result.failure = classify_read_error(ec);
      co_return result;
    }
  }
}

}  // namespace portico::proxy

namespace portico::proxy {

awaitable<PumpResult> collect_body(Side& source, PumpSpec spec, std::string& out) {
  PumpResult result;
  http::ChunkedDecoder own_decoder;
  http::ChunkedDecoder& decoder = spec.decoder != nullptr ? *spec.decoder : own_decoder;
  std::uint64_t remaining = spec.content_length;
  bool finished = spec.framing == http::BodyFraming::none || (spec.framing == http::BodyFraming::content_length && remaining == 0);
  while (!finished) {
    std::string_view avail = source.buffer.readable();
    std::size_t consumed = 0;
    switch (spec.framing) {
      case http::BodyFraming::content_length: {
        std::size_t take = avail.size() < remaining ? avail.size() : static_cast<std::size_t>(remaining);
        out.append(avail.substr(0, take));
        consumed = take;
        remaining -= take;
        finished = remaining == 0;
        break;
      }
      case http::BodyFraming::chunked:
        for (;;) {
          auto step = decoder.next(avail.substr(consumed));
          if (step.status == http::ChunkedDecoder::Status::error) {
            result.failure = PumpFailure::source_malformed;
            co_return result;
          }
          consumed += step.consumed;
          if (step.status == http::ChunkedDecoder::Status::need_more) break;
          if (step.status == http::ChunkedDecoder::Status::done) {
            finished = true;
            break;
          }
          out.append(step.data);
        }
        break;
      default:  // until_close
        out.append(avail);
        consumed = avail.size();
        break;
    }
    source.buffer.consume(consumed);
    result.body_bytes = out.size();
    if (out.size() > spec.max_body) {
      result.failure = PumpFailure::too_large;
      co_return result;
    }
    if (finished) break;
    auto ec = co_await read_more(source);
    if (ec == boost::asio::error::eof && spec.framing == http::BodyFraming::until_close) break;
    if (ec) {
      result.failure = ec == boost::asio::error::timed_out ? PumpFailure::source_timeout
                       : ec == boost::asio::error::eof     ? PumpFailure::source_closed
                                                           : PumpFailure::source_error;
      co_return result;
    }
  }
  co_return result;
}

}  // namespace portico::proxy
