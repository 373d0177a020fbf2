// Strict incremental decoder for the chunked transfer coding (RFC 9112 section 7.1).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace portico::http {

// Feed it the unconsumed bytes of a connection buffer; it returns one step at a time:
// either a run of body data, a request for more bytes, the end of the body, or an error.
// Chunk-size lines and trailer lines must be complete in the input before they are
// consumed, so the caller keeps unconsumed bytes and appends more.
// Trailer fields are validated, and dropped unless keep_trailers() asked for them (a gRPC
// exchange forwards its trailers: grpc-status is one).
class ChunkedDecoder {
 public:
  enum class Status { data, need_more, done, error };

  struct Step {
    Status status = Status::need_more;
    std::size_t consumed = 0;   // bytes of input consumed by this step
    std::string_view data;      // body bytes when status == data (points into input)
    std::string_view error;     // reason when status == error
  };

  static constexpr std::size_t kMaxLineLength = 4096;
  static constexpr std::size_t kMaxTrailerBytes = 16384;

  Step next(std::string_view input);
  bool done() const { return state_ == State::done; }
  std::uint64_t decoded_bytes() const { return decoded_; }
  void reset() { *this = ChunkedDecoder{}; }
  // Keep the trailer section's fields: trailers() gives them once done(), as validated
  // "name: value\r\n" lines.
  void keep_trailers() { keep_trailers_ = true; }
  const std::string& trailers() const { return trailers_; }

 private:
  enum class State { size_line, data, data_crlf, trailer, done };
  Step line_error(std::string_view input) const;

  State state_ = State::size_line;
  std::uint64_t remaining_ = 0;
  std::uint64_t decoded_ = 0;
  std::size_t trailer_bytes_ = 0;
  bool keep_trailers_ = false;
  std::string trailers_;
};

// Writes a chunk's size line ("1a2b\r\n") into `out` (kChunkSizeLineMax bytes at most);
// returns its length. The one encoder of chunk sizes (relays, buffered bodies, HTTP/2 request
// bodies).
inline constexpr std::size_t kChunkSizeLineMax = 18;  // 16 hex digits + CRLF
std::size_t write_chunk_size_line(std::uint64_t size, char* out);

// Validates a chunk-size line (without CRLF): 1*HEXDIG *(BWS ";" BWS name [BWS "=" BWS value]).
// Returns false for anything else, including sizes that overflow 60 bits.
bool parse_chunk_size_line(std::string_view line, std::uint64_t& size);

}  // namespace portico::http
