// grpc-gateway's parsers on hostile input, against tests/e2e/protos/gateway/users.proto: the
// first byte picks the part.
//   0: a path template (text before the first '\n') parsed, then matched against the rest;
//   1: a REST request ("METHOD path?query\n" then the body) found and encoded as a message;
//   2: a service's answer: gRPC frames (transcoded as a stream, then as a unary answer) and,
//      after a "\n\n", its trailer section (grpc-status-details-bin included).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "plugins/grpc-gateway/path_template.hpp"
#include "plugins/grpc-gateway/proto_api.hpp"
#include "plugins/grpc-gateway/transcode.hpp"

using namespace portico::grpc_gateway;

namespace {
const ProtoApi& api() {
  static const std::shared_ptr<const ProtoApi> loaded = [] {
    const std::string root = PORTICO_SOURCE_DIR;  // (run.sh defines it: __FILE__ may be relative under ccache)
    std::string error;
    auto a = ProtoApi::load(root + "/tests/e2e/protos/gateway/users.proto", {}, error);
    if (!a) {
      std::fprintf(stderr, "cannot load %s/tests/e2e/protos/gateway/users.proto: %s\n", root.c_str(), error.c_str());
      __builtin_trap();
    }
    return a;
  }();
  return *loaded;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t nl = in.find('\n');
  std::string_view first = in.substr(0, nl), rest = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  switch (data[0] % 3) {
    case 0: {
      PathTemplate t;
      std::string error;
      PathTemplate::Captures captures;
      if (t.parse(first, error)) t.match(rest, captures);
      break;
    }
    case 1: {
      std::size_t space = first.find(' ');
      if (space == std::string_view::npos) break;
      std::string_view target = first.substr(space + 1);
      std::size_t q = target.find('?');
      ProtoApi::Found found = api().find(first.substr(0, space), target.substr(0, q));
      std::string frame, error;
      if (found.binding != nullptr) {
        encode_request(api(), found, q == std::string_view::npos ? std::string_view{} : target.substr(q + 1), rest, frame, error);
      }
      break;
    }
    default: {
      std::size_t end = in.find("\n\n");
      std::string_view frames = in.substr(0, end), trailers = end == std::string_view::npos ? std::string_view{} : in.substr(end + 2);
      for (const Binding& b : api().bindings()) {
        StreamTranscoder stream(api(), b, {}, b.response_body.empty(), 1 << 16);
        std::string out;
        stream.feed(frames.substr(0, frames.size() / 2), out);
        stream.trailers(trailers);
        stream.finish(frames.substr(frames.size() / 2), out);
        GrpcStatus status;
        read_status_fields(trailers, status);
        status_json(api(), status.code, status.message, status.details_bin);
      }
      break;
    }
  }
  return 0;
}
