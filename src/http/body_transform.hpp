// A streaming rewrite of a response body on its way to the client: the compression plugin's
// encoders (http/compressor.hpp) and grpc-gateway's gRPC-to-JSON transcoder. The proxy feeds
// the body's bytes as they come (decoded from chunks) and sends what comes out at once.
#pragma once

#include <string>
#include <string_view>

namespace portico::http {

class BodyTransform {
 public:
  virtual ~BodyTransform() = default;
  // Takes `in` and appends what is ready to `out`.
  virtual void feed(std::string_view in, std::string& out) = 0;
  // The body's trailer section ("name: value\r\n" lines, possibly none), given just before
  // finish() when the body was chunked.
  virtual void trailers(std::string_view /*fields*/) {}
  // Takes the last piece (may be empty) and ends the body: appends the rest to `out`.
  virtual void finish(std::string_view last, std::string& out) = 0;
};

// Two transforms one after the other (transcoded, then compressed).
class ChainedTransform final : public BodyTransform {
 public:
  ChainedTransform(BodyTransform& first, BodyTransform& second) : first_(first), second_(second) {}
  void feed(std::string_view in, std::string& out) override {
    between_.clear();
    first_.feed(in, between_);
    if (!between_.empty()) second_.feed(between_, out);
  }
  void trailers(std::string_view fields) override { first_.trailers(fields); }
  void finish(std::string_view last, std::string& out) override {
    between_.clear();
    first_.finish(last, between_);
    second_.finish(between_, out);
  }

 private:
  BodyTransform& first_;
  BodyTransform& second_;
  std::string between_;
};

}  // namespace portico::http
