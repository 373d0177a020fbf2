// libFuzzer target: the HTTP/1.1 message-head parser and the chunked decoder, what every
// client and upstream byte goes through first. The first input byte picks what the rest is:
// a request head, a response head (to a GET or to a HEAD), or a chunked body. Beyond "no crash,
// no sanitizer report", each checks a property that a framing bug breaks:
//   - a head that parses complete parses the same from its own bytes alone (nothing past
//     head_size decided it) and ends inside the input;
//   - a chunked body decodes to the same bytes and the same outcome whether it arrives at once
//     or one byte at a time (the connection reads whatever the network gives).
// Built by tests/fuzz/run.sh.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/chunked.hpp"
#include "http/h1_parser.hpp"

namespace {

using namespace portico::http;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool same_head(const MessageHead& a, const MessageHead& b) {
  if (a.head_size != b.head_size || a.framing != b.framing || a.content_length != b.content_length ||
      a.keep_alive != b.keep_alive || a.headers.size() != b.headers.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.headers.size(); ++i) {
    if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value) return false;
  }
  return true;
}

void request(std::string_view input) {
  ParserLimits limits;
  RequestHead head;
  auto outcome = parse_request_head(input, limits, head);
  if (outcome.state == ParseState::error) check(outcome.status >= 400 && outcome.status < 600 && !outcome.message.empty());
  if (outcome.state != ParseState::complete) return;
  check(head.head_size > 0 && head.head_size <= input.size());
  RequestHead again;
  auto alone = parse_request_head(input.substr(0, head.head_size), limits, again);
  check(alone.state == ParseState::complete && same_head(head, again) && head.method == again.method &&
        head.target == again.target && head.host == again.host);
}

void response(std::string_view input, bool to_head) {
  ParserLimits limits;
  ResponseHead head;
  auto outcome = parse_response_head(input, limits, to_head, head);
  if (outcome.state != ParseState::complete) return;
  check(head.head_size > 0 && head.head_size <= input.size() && head.status >= 100 && head.status <= 999);
  ResponseHead again;
  auto alone = parse_response_head(input.substr(0, head.head_size), limits, to_head, again);
  check(alone.state == ParseState::complete && same_head(head, again) && head.status == again.status);
}

struct Decoded {
  std::string body;
  ChunkedDecoder::Status last = ChunkedDecoder::Status::need_more;
  std::size_t left = 0;  // input bytes not consumed when it stopped
};

// Steps through `buffer` until the decoder needs more, ends or fails; consumed bytes are
// removed from it, what is left stays for the next call (as a connection keeps it).
void drain(ChunkedDecoder& decoder, std::string& buffer, Decoded& out) {
  for (;;) {
    auto step = decoder.next(buffer);
    check(step.consumed <= buffer.size());
    if (step.status == ChunkedDecoder::Status::data) {
      // Progress every step (framing bytes come as a data step without data).
      check(step.consumed > 0 && step.data.size() <= step.consumed);
      out.body.append(step.data);
    }
    buffer.erase(0, step.consumed);
    out.last = step.status;
    if (step.status != ChunkedDecoder::Status::data) return;
  }
}

void chunked(std::string_view input) {
  Decoded whole, bytewise;
  ChunkedDecoder a, b;
  std::string buffer(input);
  drain(a, buffer, whole);
  whole.left = buffer.size();
  buffer.clear();
  for (char c : input) {
    buffer.push_back(c);
    drain(b, buffer, bytewise);
    if (bytewise.last == ChunkedDecoder::Status::done || bytewise.last == ChunkedDecoder::Status::error) break;
  }
  check(whole.last == bytewise.last);
  if (whole.last != ChunkedDecoder::Status::error) check(whole.body == bytewise.body);
  if (whole.last == ChunkedDecoder::Status::done) check(a.decoded_bytes() == whole.body.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: request(input); break;
    case 1: response(input, false); break;
    case 2: response(input, true); break;
    default: chunked(input); break;
  }
  return 0;
}
