#include "http/chunked.hpp"

#include <charconv>

#include <cstring>

#include "http/h1_parser.hpp"

namespace portico::http {
namespace {

void skip_bws(std::string_view s, std::size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

bool parse_token(std::string_view s, std::size_t& i) {
  std::size_t start = i;
  while (i < s.size() && is_tchar(static_cast<unsigned char>(s[i]))) ++i;
  return i > start;
}

bool parse_quoted_string(std::string_view s, std::size_t& i) {
  if (i >= s.size() || s[i] != '"') return false;
  ++i;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      ++i;
      return true;
    }
    if (c == '\\') {
      if (i + 1 >= s.size()) return false;
      auto e = static_cast<unsigned char>(s[i + 1]);
      if (!(e == '\t' || (e >= 0x20 && e != 0x7f))) return false;
      i += 2;
      continue;
    }
    if (!(c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80)) {
      return false;
    }
    ++i;
  }
  return false;
}

// Finds CRLF from the start of input; npos when absent; sets bad on bare CR/LF.
std::size_t find_crlf(std::string_view input, bool& bad) {
  const void* lf = std::memchr(input.data(), '\n', input.size());
  if (lf == nullptr) {
    const void* cr = std::memchr(input.data(), '\r', input.size());
    if (cr != nullptr && static_cast<const char*>(cr) - input.data() + 1 < static_cast<long>(input.size())) bad = true;
    return std::string_view::npos;
  }
  std::size_t i = static_cast<const char*>(lf) - input.data();
  if (i == 0 || input[i - 1] != '\r') {
    bad = true;
    return std::string_view::npos;
  }
  if (std::memchr(input.data(), '\r', i - 1) != nullptr) bad = true;  // a bare CR inside the line
  return i - 1;
}

}  // namespace

bool parse_chunk_size_line(std::string_view line, std::uint64_t& size) {
  std::size_t i = 0;
  std::uint64_t v = 0;
  while (i < line.size()) {
    int h = hex_digit_value(line[i]);
    if (h < 0) break;
    if (v >> 56) return false;  // overflow guard: more than 60 bits
    v = (v << 4) | static_cast<std::uint64_t>(h);
    ++i;
  }
  if (i == 0) return false;
  while (i < line.size()) {
    skip_bws(line, i);
    if (i >= line.size() || line[i] != ';') return false;
    ++i;
    skip_bws(line, i);
    if (!parse_token(line, i)) return false;
    std::size_t save = i;
    skip_bws(line, i);
    if (i < line.size() && line[i] == '=') {
      ++i;
      skip_bws(line, i);
      if (i < line.size() && line[i] == '"') {
        if (!parse_quoted_string(line, i)) return false;
      } else if (!parse_token(line, i)) {
        return false;
      }
    } else {
      i = save;
      if (i < line.size() && line[i] != ';' && line[i] != ' ' && line[i] != '\t') return false;
    }
  }
  size = v;
  return true;
}

ChunkedDecoder::Step ChunkedDecoder::line_error(std::string_view input) const {
  if (input.size() > kMaxLineLength) return {Status::error, 0, {}, "chunk line too long"};
  return {Status::need_more, 0, {}, {}};
}

ChunkedDecoder::Step ChunkedDecoder::next(std::string_view input) {
  switch (state_) {
    case State::size_line: {
      bool bad = false;
      std::size_t end = find_crlf(input.substr(0, std::min(input.size(), kMaxLineLength + 2)), bad);
      if (bad) return {Status::error, 0, {}, "invalid line ending in chunk size line"};
      if (end == std::string_view::npos) return line_error(input);
      std::uint64_t size = 0;
      if (!parse_chunk_size_line(input.substr(0, end), size)) {
        return {Status::error, 0, {}, "malformed chunk size or extension"};
      }
      if (size == 0) {
        state_ = State::trailer;
      } else {
        remaining_ = size;
        state_ = State::data;
      }
      return {Status::data, end + 2, {}, {}};
    }
    case State::data: {
      if (input.empty()) return {Status::need_more, 0, {}, {}};
      std::size_t n = input.size() < remaining_ ? input.size() : static_cast<std::size_t>(remaining_);
      remaining_ -= n;
      decoded_ += n;
      if (remaining_ == 0) state_ = State::data_crlf;
      return {Status::data, n, input.substr(0, n), {}};
    }
    case State::data_crlf: {
      if (input.size() < 2) {
        if (!input.empty() && input[0] != '\r') return {Status::error, 0, {}, "missing CRLF after chunk data"};
        return {Status::need_more, 0, {}, {}};
      }
      if (input[0] != '\r' || input[1] != '\n') return {Status::error, 0, {}, "missing CRLF after chunk data"};
      state_ = State::size_line;
      return {Status::data, 2, {}, {}};
    }
    case State::trailer: {
      bool bad = false;
      std::size_t end = find_crlf(input.substr(0, std::min(input.size(), kMaxLineLength + 2)), bad);
      if (bad) return {Status::error, 0, {}, "invalid line ending in chunked trailer"};
      if (end == std::string_view::npos) return line_error(input);
      trailer_bytes_ += end + 2;
      if (trailer_bytes_ > kMaxTrailerBytes) return {Status::error, 0, {}, "chunked trailer too large"};
      if (end == 0) {
        state_ = State::done;
        return {Status::done, 2, {}, {}};
      }
      std::string_view line = input.substr(0, end);
      std::size_t i = 0;
      if (!parse_token(line, i) || i >= line.size() || line[i] != ':') {
        return {Status::error, 0, {}, "malformed trailer field"};
      }
      for (++i; i < line.size(); ++i) {
        if (!is_field_value_char(static_cast<unsigned char>(line[i]))) {
          return {Status::error, 0, {}, "malformed trailer field"};
        }
      }
      if (keep_trailers_) trailers_.append(input.substr(0, end + 2));
      return {Status::data, end + 2, {}, {}};
    }
    case State::done:
      return {Status::done, 0, {}, {}};
  }
  return {Status::error, 0, {}, "invalid decoder state"};
}

std::size_t write_chunk_size_line(std::uint64_t size, char* out) {
  auto r = std::to_chars(out, out + 16, size, 16);
  r.ptr[0] = '\r';
  r.ptr[1] = '\n';
  return static_cast<std::size_t>(r.ptr + 2 - out);
}

}  // namespace portico::http
