// Portico's side of the HTTP/1.1 differential test (tests/http_differential/README.md): reads
// each case's bytes as one client connection's stream, the way the proxy does
// (proxy/downstream_connection.cpp: read_head, then the body by the head's framing), with the
// proxy's own parser and chunked decoder, and prints the results in oracle.js's format.
//
//   http_differential_runner < cases.json > results.json
//
// Text (targets, header values) is printed as Latin-1, as Node.js gives it.
#include <boost/json.hpp>

#include <iostream>
#include <iterator>
#include <string>

#include "crypto/base64.hpp"
#include "http/chunked.hpp"
#include "http/h1_parser.hpp"

namespace json = boost::json;
namespace http = portico::http;

namespace {

json::string latin1(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return json::string(out);
}

// Only CR and LF: what a stream may hold between requests without starting one.
bool only_line_ends(std::string_view rest) { return rest.find_first_not_of("\r\n") == std::string_view::npos; }

struct Body {
  enum class End { complete, incomplete, error } end = End::complete;
  std::string bytes;
  std::size_t consumed = 0;
  std::string error;
};

Body read_body(const http::RequestHead& head, std::string_view rest) {
  Body body;
  if (head.framing == http::BodyFraming::content_length) {
    if (rest.size() < head.content_length) {
      body.end = Body::End::incomplete;
      return body;
    }
    body.bytes.assign(rest.substr(0, head.content_length));
    body.consumed = head.content_length;
  } else if (head.framing == http::BodyFraming::chunked) {
    http::ChunkedDecoder decoder;
    for (;;) {
      auto step = decoder.next(rest.substr(body.consumed));
      body.consumed += step.consumed;
      if (step.status == http::ChunkedDecoder::Status::data) {
        body.bytes.append(step.data);
      } else if (step.status == http::ChunkedDecoder::Status::done) {
        break;
      } else if (step.status == http::ChunkedDecoder::Status::need_more) {
        body.end = Body::End::incomplete;
        break;
      } else {
        body.end = Body::End::error;
        body.error = std::string(step.error);
        break;
      }
    }
  }
  return body;
}

json::object run_case(std::string_view stream) {
  json::array messages;
  std::string outcome = "complete";
  json::value error = nullptr;
  http::ParserLimits limits;
  std::size_t offset = 0;
  while (offset < stream.size()) {
    std::string_view rest = stream.substr(offset);
    http::RequestHead head;
    auto parsed = http::parse_request_head(rest, limits, head);
    if (parsed.state == http::ParseState::error) {
      outcome = "error";
      error = json::string(std::to_string(parsed.status) + " " + std::string(parsed.message));
      break;
    }
    if (parsed.state == http::ParseState::incomplete) {
      if (!only_line_ends(rest)) outcome = "incomplete";
      break;
    }
    json::object m;
    m["method"] = latin1(head.method);
    m["target"] = latin1(head.target);
    m["version"] = "1." + std::to_string(head.version_minor);
    json::array headers;
    for (const auto& f : head.headers) headers.push_back(json::array{latin1(http::ascii_lower(f.name)), latin1(f.value)});
    m["headers"] = std::move(headers);
    const bool upgrade = http::is_websocket_handshake(head);
    m["upgrade"] = upgrade;
    offset += head.head_size;
    if (upgrade) {  // the rest of the stream is the tunnel's
      m["body"] = "";
      messages.push_back(std::move(m));
      break;
    }
    Body body = read_body(head, stream.substr(offset));
    if (body.end == Body::End::error) {
      outcome = "error";
      error = json::string("400 " + body.error);
      break;
    }
    if (body.end == Body::End::incomplete) {
      outcome = "incomplete";
      break;
    }
    offset += body.consumed;
    m["body"] = json::string(portico::crypto::base64_encode(body.bytes));
    messages.push_back(std::move(m));
    if (!head.keep_alive) {
      // The connection closes after this answer: what follows is never read.
      if (!only_line_ends(stream.substr(offset))) outcome = "closed";
      break;
    }
  }
  return json::object{{"messages", std::move(messages)}, {"outcome", outcome}, {"error", std::move(error)}};
}

}  // namespace

int main() {
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  json::array out;
  const json::value cases = json::parse(input);
  for (const auto& c : cases.as_array()) {
    std::string bytes;
    if (!portico::crypto::base64_decode(c.at("bytes").as_string(), bytes)) {
      std::cerr << "case " << c.at("name") << ": bytes are not base64\n";
      return 2;
    }
    json::object result = run_case(bytes);
    result["name"] = c.at("name");
    out.push_back(std::move(result));
  }
  std::cout << json::serialize(out);
  return 0;
}
