#include "transcode.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

#include <boost/json.hpp>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/wire_format_lite.h>

#include "crypto/base64.hpp"
#include "http/header_lines.hpp"
#include "http/header_view.hpp"
#include "http/params.hpp"

namespace portico::grpc_gateway {

namespace pb = google::protobuf;
namespace json = boost::json;

namespace {

constexpr std::size_t kFrameHeader = 5;

// A field by its proto name or its json_name (query parameters may use either).
const pb::FieldDescriptor* find_field(const pb::Descriptor* message, std::string_view name) {
  if (const auto* f = message->FindFieldByName(std::string(name))) return f;
  for (int i = 0; i < message->field_count(); ++i) {
    if (message->field(i)->json_name() == name) return message->field(i);
  }
  return nullptr;
}

// The key a field has in `object`: whichever spelling the client used, else the proto name
// (two spellings of one field would be a duplicate to protobuf's parser).
std::string key_of(const json::object& object, const pb::FieldDescriptor* field) {
  if (!object.contains(field->name()) && object.contains(field->json_name())) return field->json_name();
  return field->name();
}

bool is_scalar_message(const pb::Descriptor* m) {
  using W = pb::Descriptor::WellKnownType;
  switch (m->well_known_type()) {
    case W::WELLKNOWNTYPE_TIMESTAMP: case W::WELLKNOWNTYPE_DURATION: case W::WELLKNOWNTYPE_FIELDMASK:
    case W::WELLKNOWNTYPE_DOUBLEVALUE: case W::WELLKNOWNTYPE_FLOATVALUE: case W::WELLKNOWNTYPE_INT64VALUE:
    case W::WELLKNOWNTYPE_UINT64VALUE: case W::WELLKNOWNTYPE_INT32VALUE: case W::WELLKNOWNTYPE_UINT32VALUE:
    case W::WELLKNOWNTYPE_STRINGVALUE: case W::WELLKNOWNTYPE_BYTESVALUE: case W::WELLKNOWNTYPE_BOOLVALUE:
      return true;
    default:
      return false;
  }
}

// A path or query value as the JSON the field takes: numbers stay strings (protobuf's parser
// reads quoted numbers, and checks their range), booleans become literals.
bool value_json(const pb::FieldDescriptor* field, const std::string& raw, json::value& out, std::string& error) {
  bool boolean = field->cpp_type() == pb::FieldDescriptor::CPPTYPE_BOOL ||
                 (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE &&
                  field->message_type()->well_known_type() == pb::Descriptor::WELLKNOWNTYPE_BOOLVALUE);
  if (boolean) {
    if (raw == "true" || raw == "1") out = true;
    else if (raw == "false" || raw == "0") out = false;
    else {
      error = "field " + field->name() + ": '" + raw + "' is not a boolean";
      return false;
    }
    return true;
  }
  if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && !is_scalar_message(field->message_type())) {
    error = "field " + field->name() + " is a message: it cannot be set from the path or the query";
    return false;
  }
  if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_ENUM && !raw.empty() &&
      raw.find_first_not_of("-0123456789") == std::string::npos) {
    out = std::strtoll(raw.c_str(), nullptr, 10);  // an enum by number
    return true;
  }
  out = json::string(raw);
  return true;
}

// Sets `path` ("a.b.c") in `root` to `raw`, creating the objects on the way. An unknown field
// is skipped (query parameters the message has no field for are ignored, as by grpc-gateway
// and Kong); a repeated field gets one more element.
bool set_path(json::object& root, const pb::Descriptor* message, std::string_view path, const std::string& raw,
              std::string& error) {
  json::object* object = &root;
  for (;;) {
    std::size_t dot = path.find('.');
    const pb::FieldDescriptor* field = find_field(message, path.substr(0, dot));
    if (field == nullptr) return true;
    std::string key = key_of(*object, field);
    if (dot == std::string_view::npos) {
      json::value value;
      if (!value_json(field, raw, value, error)) return false;
      if (!field->is_repeated()) {
        (*object)[key] = std::move(value);
      } else {
        json::value& list = (*object)[key];
        if (!list.is_array()) list = json::array();
        list.as_array().push_back(std::move(value));
      }
      return true;
    }
    if (field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated() ||
        is_scalar_message(field->message_type())) {
      return true;  // not a path into a message: not a field of the request
    }
    json::value& child = (*object)[key];
    if (!child.is_object()) child = json::object();
    object = &child.as_object();
    message = field->message_type();
    path.remove_prefix(dot + 1);
  }
}

// The values a request gives outside its body: the path's variables, then (unless the body is
// the whole message) the query's parameters that the path or the body does not bind.
void bound_values(const ProtoApi::Found& found, std::string_view query,
                  std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [path, value] : found.captures) values.emplace_back(path, value);
  const Binding& b = *found.binding;
  if (b.body == "*") return;
  http::for_each_query_arg(query, [&](std::string_view key, std::string_view value) {
    std::string name, decoded;
    if (!http::percent_decode(key, name) || !http::percent_decode(value, decoded)) return;
    if (!b.body.empty() && (name == b.body || name.starts_with(b.body + "."))) return;  // bound by the body
    for (const auto& c : found.captures) {
      if (c.first == name) return;  // bound by the path
    }
    values.emplace_back(std::move(name), std::move(decoded));
  });
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

template <typename T>
void put_fixed(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // (x86-64: little-endian, as the wire format)
  out.append(bytes, sizeof(T));
}

template <typename T>
bool read_number(const std::string& text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// The wire encoding of `values` when each names a top-level singular or repeated scalar field
// and reads cleanly (ASCII text, an integer in range, a finite float, true/false, an enum name
// or number); false otherwise, and the JSON route (protobuf's parser, which also words the
// errors) takes the request. Names the message has no field for are ignored, as there.
bool encode_scalars(const pb::Descriptor* input, const std::vector<std::pair<std::string, std::string>>& values,
                    std::string& out) {
  using T = pb::FieldDescriptor;
  for (const auto& [name, text] : values) {
    if (name.find('.') != std::string::npos) return false;
    const pb::FieldDescriptor* f = find_field(input, name);
    if (f == nullptr) continue;
    const auto tag = static_cast<std::uint64_t>(f->number()) << 3;
    switch (f->type()) {
      case T::TYPE_STRING:
        for (char c : text) {
          if (static_cast<unsigned char>(c) >= 0x80) return false;  // UTF-8 checks: protobuf's
        }
        put_varint(out, tag | 2), put_varint(out, text.size()), out += text;
        break;
      case T::TYPE_BOOL:
        if (text != "true" && text != "false" && text != "1" && text != "0") return false;
        put_varint(out, tag), put_varint(out, text == "true" || text == "1" ? 1 : 0);
        break;
      case T::TYPE_INT32: case T::TYPE_SINT32: case T::TYPE_SFIXED32: {
        std::int32_t v;
        if (!read_number(text, v)) return false;
        if (f->type() == T::TYPE_SFIXED32) put_varint(out, tag | 5), put_fixed(out, v);
        else if (f->type() == T::TYPE_SINT32) put_varint(out, tag), put_varint(out, (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31));
        else put_varint(out, tag), put_varint(out, static_cast<std::uint64_t>(static_cast<std::int64_t>(v)));
        break;
      }
      case T::TYPE_INT64: case T::TYPE_SINT64: case T::TYPE_SFIXED64: {
        std::int64_t v;
        if (!read_number(text, v)) return false;
        if (f->type() == T::TYPE_SFIXED64) put_varint(out, tag | 1), put_fixed(out, v);
        else if (f->type() == T::TYPE_SINT64) put_varint(out, tag), put_varint(out, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
        else put_varint(out, tag), put_varint(out, static_cast<std::uint64_t>(v));
        break;
      }
      case T::TYPE_UINT32: case T::TYPE_FIXED32: {
        std::uint32_t v;
        if (!read_number(text, v)) return false;
        if (f->type() == T::TYPE_FIXED32) put_varint(out, tag | 5), put_fixed(out, v);
        else put_varint(out, tag), put_varint(out, v);
        break;
      }
      case T::TYPE_UINT64: case T::TYPE_FIXED64: {
        std::uint64_t v;
        if (!read_number(text, v)) return false;
        if (f->type() == T::TYPE_FIXED64) put_varint(out, tag | 1), put_fixed(out, v);
        else put_varint(out, tag), put_varint(out, v);
        break;
      }
      case T::TYPE_DOUBLE: case T::TYPE_FLOAT: {
        double v;
        if (!read_number(text, v) || !std::isfinite(v)) return false;
        if (f->type() == T::TYPE_DOUBLE) put_varint(out, tag | 1), put_fixed(out, v);
        else if (std::fabs(v) <= 3.4028234663852886e38) put_varint(out, tag | 5), put_fixed(out, static_cast<float>(v));
        else return false;
        break;
      }
      case T::TYPE_ENUM: {
        const pb::EnumValueDescriptor* e = f->enum_type()->FindValueByName(text);
        std::int32_t number;
        if (e != nullptr) number = e->number();
        else if (!read_number(text, number) || f->enum_type()->FindValueByNumber(number) == nullptr) return false;
        put_varint(out, tag), put_varint(out, static_cast<std::uint64_t>(static_cast<std::int64_t>(number)));
        break;
      }
      default:  // bytes (base64), messages and well-known types: protobuf's parser
        return false;
    }
  }
  return true;
}

bool blank(std::string_view body) { return body.find_first_not_of(" \t\r\n") == std::string_view::npos; }

void frame_into(std::string& frame, std::string_view message) {
  frame.clear();
  frame.reserve(kFrameHeader + message.size());
  const auto n = static_cast<std::uint32_t>(message.size());
  const char header[kFrameHeader] = {0, static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                                     static_cast<char>(n)};
  frame.append(header, kFrameHeader).append(message);
}

// grpc-status-details-bin: gRPC's binary fields are base64 with or without padding.
bool decode_binary_field(std::string_view value, std::string& out) {
  std::string padded(value);
  while (padded.size() % 4 != 0) padded += '=';
  return crypto::base64_decode(padded, out);
}

// Calls fn(number, bytes) for each length-delimited field of a serialized message (others
// are skipped). False when the bytes are not a message.
template <typename Fn>
bool for_each_bytes_field(std::string_view message, Fn fn) {
  pb::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(message.data()), static_cast<int>(message.size()));
  while (std::uint32_t tag = in.ReadTag()) {
    if (pb::internal::WireFormatLite::GetTagWireType(tag) == pb::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::uint32_t length = 0;
      std::string piece;
      if (!in.ReadVarint32(&length) || !in.ReadString(&piece, static_cast<int>(length))) return false;
      fn(pb::internal::WireFormatLite::GetTagFieldNumber(tag), piece);
    } else if (!pb::internal::WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
  return in.ConsumedEntireMessage();
}

// One google.protobuf.Any { string type_url = 1; bytes value = 2; } as JSON with "@type"
// first: the message's fields when the loaded files know its type, else its bytes in base64.
json::value any_json(const ProtoApi& api, std::string_view any_bytes) {
  std::string url, value;
  for_each_bytes_field(any_bytes, [&](int number, std::string& piece) {
    if (number == 1) url = std::move(piece);
    if (number == 2) value = std::move(piece);
  });
  json::object out{{"@type", url}};
  std::string text;
  if (pb::util::BinaryToJsonString(&api.resolver(), url, value, &text).ok()) {
    boost::system::error_code ec;
    json::value fields = json::parse(text, ec);
    if (!ec && fields.is_object()) {
      for (auto& [k, v] : fields.as_object()) out[k] = std::move(v);
      return out;
    }
  }
  out["value"] = crypto::base64_encode(value);
  return out;
}

// The JSON of a field left at its default (which protobuf's printer leaves out), for a
// response_body naming it: the client gets a value of the field's type, as grpc-gateway sends.
std::string default_json(const pb::FieldDescriptor* field) {
  using T = pb::FieldDescriptor;
  if (field->is_map()) return "{}";
  if (field->is_repeated()) return "[]";
  switch (field->cpp_type()) {
    case T::CPPTYPE_MESSAGE: return field->message_type()->well_known_type() == pb::Descriptor::WELLKNOWNTYPE_UNSPECIFIED ? "{}" : "null";
    case T::CPPTYPE_STRING: return "\"\"";
    case T::CPPTYPE_BOOL: return "false";
    case T::CPPTYPE_INT64: case T::CPPTYPE_UINT64: return "\"0\"";
    case T::CPPTYPE_ENUM: return json::serialize(json::value(field->enum_type()->value(0)->name()));
    default: return "0";
  }
}

}  // namespace

bool encode_request(const ProtoApi& api, const ProtoApi::Found& found, std::string_view query, std::string_view body,
                    std::string& frame, std::string& error) {
  const Binding& b = *found.binding;
  const pb::Descriptor* input = b.method->input_type();
  std::string text;
  const bool body_given = !b.body.empty() && !blank(body);
  std::vector<std::pair<std::string, std::string>> values;  // (field path, value) from the path and the query
  if (b.body != "*" || !found.captures.empty()) bound_values(found, query, values);
  if (!body_given) {
    std::string wire;
    if (encode_scalars(input, values, wire)) {  // the common GET: no JSON at all
      frame_into(frame, wire);
      return true;
    }
  }
  if (b.body == "*" && found.captures.empty()) {
    text = blank(body) ? std::string("{}") : std::string(body);  // the body is the message: as it is
  } else {
    json::object root;
    if (!b.body.empty() && !blank(body)) {
      boost::system::error_code ec;
      json::value parsed = json::parse(body, ec);
      if (ec) {
        error = "the body is not JSON: " + ec.message();
        return false;
      }
      if (b.body == "*") {
        if (!parsed.is_object()) {
          error = "the body must be a JSON object (the message " + input->full_name() + ")";
          return false;
        }
        root = std::move(parsed.as_object());
      } else {
        root[b.body] = std::move(parsed);
      }
    }
    for (const auto& [path, value] : values) {
      if (!set_path(root, input, path, value, error)) return false;
    }
    text = json::serialize(root);
  }
  std::string binary;
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = pb::util::JsonToBinaryString(&api.resolver(), b.input_url, text, &binary, options);
  if (!status.ok()) {
    error = std::string(status.message());
    return false;
  }
  frame_into(frame, binary);
  return true;
}

bool response_json(const ProtoApi& api, const Binding& binding, std::string_view message, const JsonStyle& style,
                   std::string& out, std::string& error) {
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = style.emit_defaults;
  options.preserve_proto_field_names = style.proto_names;
  out.clear();
  auto status = pb::util::BinaryToJsonString(&api.resolver(), binding.output_url, std::string(message), &out, options);
  if (!status.ok()) {
    error = std::string(status.message());
    return false;
  }
  if (binding.response_body.empty()) return true;
  // Only one field of the message: printed with the rest, then taken out.
  const pb::FieldDescriptor* field = binding.method->output_type()->FindFieldByName(binding.response_body);
  // (protobuf's printer can write what Boost.JSON refuses, an escaped lone surrogate from a
  // string field's invalid UTF-8 for one: found by tests/fuzz/grpc_gateway_fuzz)
  boost::system::error_code ec;
  json::value whole = json::parse(out, ec);
  if (ec || !whole.is_object()) {
    error = "the service's message has no JSON form (" + ec.message() + ")";
    return false;
  }
  const json::value* part = whole.as_object().if_contains(style.proto_names ? field->name() : field->json_name());
  out = part != nullptr ? json::serialize(*part) : default_json(field);
  return true;
}

std::string status_json(const ProtoApi& api, int code, std::string_view message, std::string_view details_bin) {
  std::string text(message);
  json::array details;
  std::string status_bytes;
  if (!details_bin.empty() && decode_binary_field(details_bin, status_bytes)) {
    // google.rpc.Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
    for_each_bytes_field(status_bytes, [&](int number, std::string& piece) {
      if (number == 2 && text.empty()) text = std::move(piece);
      if (number == 3) details.push_back(any_json(api, piece));
    });
  }
  return json::serialize(json::object{{"code", code}, {"message", text}, {"details", std::move(details)}});
}

}  // namespace portico::grpc_gateway

namespace portico::grpc_gateway {

void read_status_field(std::string_view name, std::string_view value, GrpcStatus& status) {
  if (http::iequals(name, "grpc-status")) {
    int code = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), code);
    status.present = true;
    status.code = ec == std::errc() && end == value.data() + value.size() && code >= 0 ? code : 2;  // else UNKNOWN
  } else if (http::iequals(name, "grpc-message")) {
    // percent-encoded UTF-8
    if (!http::percent_decode(value, status.message, /*plus_is_space=*/false)) status.message = std::string(value);
  } else if (http::iequals(name, "grpc-status-details-bin")) {
    status.details_bin = std::string(value);
  }
}

void read_status_fields(std::string_view fields, GrpcStatus& status) {
  http::for_each_header_line(fields, [&](std::string_view name, std::string_view value, std::string_view) {
    read_status_field(name, value, status);
  });
}

FrameReader::Next FrameReader::next(std::string_view& message, std::string& error) {
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > 65536) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  std::string_view rest = std::string_view(buffer_).substr(consumed_);
  if (rest.size() < kFrameHeader) return Next::need_more;
  const auto* h = reinterpret_cast<const unsigned char*>(rest.data());
  std::uint64_t length = (std::uint64_t{h[1]} << 24) | (std::uint64_t{h[2]} << 16) | (std::uint64_t{h[3]} << 8) | h[4];
  if (h[0] != 0) {
    error = "the service sent a compressed message (the gateway asks for none)";
    return Next::error;
  }
  if (length > max_) {
    error = "the service sent a message of " + std::to_string(length) + " bytes, more than the " + std::to_string(max_) +
            " the gateway transcodes";
    return Next::error;
  }
  if (rest.size() < kFrameHeader + length) return Next::need_more;
  message = rest.substr(kFrameHeader, length);
  consumed_ += kFrameHeader + length;
  return Next::message;
}

void StreamTranscoder::element(std::string_view json, std::string& out) {
  if (ndjson_) {
    out.append(json).append("\n");
  } else {
    out += started_ ? ',' : '[';
    out.append(json);
  }
  started_ = true;
}

void StreamTranscoder::feed(std::string_view in, std::string& out) {
  if (failed_) return;
  frames_.append(in);
  std::string_view message;
  std::string error, text;
  for (;;) {
    FrameReader::Next next = frames_.next(message, error);
    if (next == FrameReader::Next::need_more) return;
    if (next == FrameReader::Next::message && response_json(api_, binding_, message, style_, text, error)) {
      element(text, out);
      continue;
    }
    failed_ = true;  // INTERNAL: what the service sent cannot be transcoded; the rest is dropped
    element("{\"error\":" + status_json(api_, 13, error, {}) + "}", out);
    return;
  }
}

void StreamTranscoder::finish(std::string_view last, std::string& out) {
  feed(last, out);
  if (!failed_) {
    if (!frames_.empty()) {
      element("{\"error\":" + status_json(api_, 13, "the stream ended inside a message", {}) + "}", out);
    } else if (!status_.present) {
      element("{\"error\":" + status_json(api_, 2, "the service ended the stream without a gRPC status", {}) + "}", out);
    } else if (status_.code != 0) {
      element("{\"error\":" + status_json(api_, status_.code, status_.message, status_.details_bin) + "}", out);
    }
  }
  if (!ndjson_) out.append(started_ ? "]" : "[]");
}

}  // namespace portico::grpc_gateway
