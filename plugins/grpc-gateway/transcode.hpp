// JSON <-> gRPC for the grpc-gateway plugin, with protobuf's own JSON mapping (proto3
// canonical JSON: int64 as strings, enums by name, well-known types, json_name).
//
//   request:  the JSON body, the path template's variables and the query parameters become
//             one request message, framed for gRPC (5-byte prefix, uncompressed);
//   response: each framed response message becomes a JSON value; a gRPC status other than
//             OK becomes {"code":..,"message":..,"details":[..]} with the HTTP status of
//             google.rpc.Code's mapping (http::http_status_for_grpc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/body_transform.hpp"
#include "proto_api.hpp"

namespace portico::grpc_gateway {

struct JsonStyle {
  bool emit_defaults = false;    // print fields with their default values too (Kong's output does)
  bool proto_names = false;      // "user_id", not the json_name "userId"
};

// Builds the framed request message for `found`'s binding. False with `error` (the reason,
// for a 400) when the input does not fit the message.
bool encode_request(const ProtoApi& api, const ProtoApi::Found& found, std::string_view query, std::string_view body,
                    std::string& frame, std::string& error);

// One response message (unframed) as JSON, or the binding's response_body field of it.
bool response_json(const ProtoApi& api, const Binding& binding, std::string_view message, const JsonStyle& style,
                   std::string& out, std::string& error);

// A status as JSON: {"code":5,"message":"...","details":[...]}. `details_bin` is grpc-status-details-bin (base64 of a
// google.rpc.Status, padded or not), whose details print as JSON with "@type" when the
// loaded files know their types (and as {"@type":..,"value":"<base64>"} when not).
std::string status_json(const ProtoApi& api, int code, std::string_view message, std::string_view details_bin);

// The gRPC status an answer ended with, read from its trailer section or trailers-only head.
struct GrpcStatus {
  bool present = false;
  int code = 2;  // UNKNOWN when absent
  std::string message;  // grpc-message, decoded
  std::string details_bin;
};
// One field of a head or trailer section (others are ignored), or "name: value\r\n" lines.
void read_status_field(std::string_view name, std::string_view value, GrpcStatus& status);
void read_status_fields(std::string_view fields, GrpcStatus& status);

// Splits a gRPC message stream into messages: append what arrives, then take what is complete.
class FrameReader {
 public:
  enum class Next { message, need_more, error };
  explicit FrameReader(std::uint64_t max_message) : max_(max_message) {}
  void append(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole message (valid until the next call); error: a compressed or oversized one.
  Next next(std::string_view& message, std::string& error);
  bool empty() const { return consumed_ == buffer_.size(); }

 private:
  std::string buffer_;
  std::size_t consumed_ = 0;
  std::uint64_t max_;
};

// A server-streaming answer as it comes: each message a JSON value of an array
// ("[{..},{..}]") or a line of newline-delimited JSON; a status other than OK at the end
// becomes a last {"error":{..}} element or line (the HTTP status, 200, is already sent).
class StreamTranscoder final : public http::BodyTransform {
 public:
  StreamTranscoder(const ProtoApi& api, const Binding& binding, JsonStyle style, bool ndjson, std::uint64_t max_message)
      : api_(api), binding_(binding), style_(style), ndjson_(ndjson), frames_(max_message) {}
  void feed(std::string_view in, std::string& out) override;
  void trailers(std::string_view fields) override { read_status_fields(fields, status_); }
  void finish(std::string_view last, std::string& out) override;

 private:
  void element(std::string_view json, std::string& out);
  const ProtoApi& api_;
  const Binding& binding_;
  JsonStyle style_;
  bool ndjson_;
  bool started_ = false, failed_ = false;
  FrameReader frames_;
  GrpcStatus status_;
};

}  // namespace portico::grpc_gateway
