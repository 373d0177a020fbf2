#include "proxy/grpc_health_probe.hpp"

#include <algorithm>
#include <cstring>

namespace portico::proxy {

namespace {
constexpr std::string_view kPath = "/grpc.health.v1.Health/Check";

GrpcHealthCall& call_of(void* user) { return *static_cast<GrpcHealthCall*>(user); }

int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
              const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user) {
  GrpcHealthCall& call = call_of(user);
  if (frame->hd.stream_id != call.stream_id) return 0;
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (n == ":status") call.status = v;
  if (n == "grpc-status") call.grpc_status = v;
  return 0;
}

int on_data(nghttp2_session*, std::uint8_t, std::int32_t stream_id, const std::uint8_t* data, std::size_t len,
            void* user) {
  GrpcHealthCall& call = call_of(user);
  if (stream_id == call.stream_id && call.body.size() < 4096) call.body.append(reinterpret_cast<const char*>(data), len);
  return 0;
}

int on_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t code, void* user) {
  GrpcHealthCall& call = call_of(user);
  if (stream_id != call.stream_id) return 0;
  call.closed = true;
  call.close_code = code;
  return 0;
}

nghttp2_nv nv(std::string_view name, std::string_view value) {
  return {const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(name.data())),
          const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

// The status field (1, an enum: varint) of a HealthCheckResponse, or -1.
int serving_status(std::string_view message) {
  std::size_t i = 0;
  while (i < message.size()) {
    auto varint = [&](std::uint64_t& v) {
      v = 0;
      for (int shift = 0; i < message.size() && shift < 64; shift += 7) {
        auto byte = static_cast<unsigned char>(message[i++]);
        v |= std::uint64_t{byte & 0x7fu} << shift;
        if ((byte & 0x80) == 0) return true;
      }
      return false;
    };
    std::uint64_t key = 0, value = 0;
    if (!varint(key)) return -1;
    switch (key & 7) {
      case 0:
        if (!varint(value)) return -1;
        if ((key >> 3) == 1) return static_cast<int>(value);
        break;
      case 2:
        if (!varint(value) || value > message.size() - i) return -1;
        i += value;
        break;
      case 1: i += 8; break;
      case 5: i += 4; break;
      default: return -1;
    }
  }
  return 0;  // absent: the enum's default, UNKNOWN
}
}  // namespace

nghttp2_session* GrpcHealthCall::start(std::string_view authority, bool tls, std::string_view service) {
  // HealthCheckRequest { string service = 1; } behind gRPC's 5-byte prefix (uncompressed).
  std::string message;
  if (!service.empty() && service.size() < 128) {
    message += '\x0a';
    message += static_cast<char>(service.size());
    message += service;
  }
  request_.assign(1, '\0');
  for (int shift = 24; shift >= 0; shift -= 8) request_ += static_cast<char>((message.size() >> shift) & 0xff);
  request_ += message;

  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_close);
  nghttp2_session* session = nullptr;
  int rv = nghttp2_session_client_new(&session, callbacks, this);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) return nullptr;
  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  const nghttp2_nv fields[] = {
      nv(":method", "POST"), nv(":scheme", tls ? "https" : "http"), nv(":authority", authority), nv(":path", kPath),
      nv("content-type", "application/grpc"), nv("te", "trailers"), nv("user-agent", "portico-healthcheck")};
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = [](nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                              std::uint32_t* flags, nghttp2_data_source* source, void*) -> ssize_t {
    auto& call = *static_cast<GrpcHealthCall*>(source->ptr);
    std::size_t n = std::min(length, call.request_.size() - call.request_sent);
    std::memcpy(buf, call.request_.data() + call.request_sent, n);
    call.request_sent += n;
    if (call.request_sent == call.request_.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  };
  stream_id = nghttp2_submit_request(session, nullptr, fields, std::size(fields), &provider, nullptr);
  if (stream_id <= 0) {
    nghttp2_session_del(session);
    return nullptr;
  }
  return session;
}

GrpcHealth GrpcHealthCall::verdict() const {
  if (close_code != NGHTTP2_NO_ERROR || status != "200" || grpc_status.empty()) return GrpcHealth::failed;
  if (grpc_status != "0") return GrpcHealth::not_serving;  // (NOT_FOUND: no such service)
  if (body.size() < 5 || body[0] != '\0') return GrpcHealth::failed;
  return serving_status(std::string_view(body).substr(5)) == 1 ? GrpcHealth::serving : GrpcHealth::not_serving;
}

}  // namespace portico::proxy
