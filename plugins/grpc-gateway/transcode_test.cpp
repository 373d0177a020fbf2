// The transcoder against tests/e2e/protos/gateway/users.proto (the e2e tests' service).
#include "transcode.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>

#include "crypto/base64.hpp"

namespace portico::grpc_gateway {
namespace {

const std::string kProto = std::string(PORTICO_SOURCE_DIR) + "/tests/e2e/protos/gateway/users.proto";

std::shared_ptr<const ProtoApi> load() {
  std::string error;
  auto api = ProtoApi::load(kProto, {}, error);
  EXPECT_TRUE(api) << error;
  return api;
}

// The message of a frame, checked.
std::string unframe(const std::string& frame) {
  EXPECT_GE(frame.size(), 5u);
  EXPECT_EQ(frame[0], 0);
  return frame.substr(5);
}

std::string echo_of(const ProtoApi& api, std::string_view method, std::string_view path, std::string_view query,
                    std::string_view body, std::string* error_out = nullptr) {
  ProtoApi::Found found = api.find(method, path);
  EXPECT_NE(found.binding, nullptr) << method << " " << path;
  if (found.binding == nullptr) return {};
  std::string frame, error;
  if (!encode_request(api, found, query, body, frame, error)) {
    if (error_out) *error_out = error;
    return "error";
  }
  // The request printed back with the JSON mapping (EchoRequest is EchoReply's field 1).
  Binding as_request = *found.binding;
  as_request.output_url = found.binding->input_url;
  as_request.response_body.clear();
  std::string json;
  EXPECT_TRUE(response_json(api, as_request, unframe(frame), {}, json, error)) << error;
  return json;
}

// JSON objects compare without regard to key order (a message's fields print in the order they
// were encoded).
#define EXPECT_SAME_JSON(actual, expected) EXPECT_EQ(boost::json::parse(actual), boost::json::parse(expected))

TEST(GrpcGatewayTranscode, BindsAnnotationsAndTheFallback) {
  auto api = load();
  ASSERT_TRUE(api);
  EXPECT_EQ(api->find("GET", "/v1/echo/1").binding->grpc_path, "/portico.gw.Users/Echo");
  EXPECT_EQ(api->find("POST", "/portico.gw.Users/Ping").binding->grpc_path, "/portico.gw.Users/Ping");
  EXPECT_EQ(api->find("POST", "/portico.gw.Users/Echo").binding, nullptr);  // annotated: no fallback
  ProtoApi::Found wrong = api->find("PUT", "/v1/echo/1");
  EXPECT_EQ(wrong.binding, nullptr);
  EXPECT_EQ(wrong.allowed, "GET, DELETE");
  EXPECT_TRUE(api->find("GET", "/v1/users:stream").binding->server_streaming());
}

TEST(GrpcGatewayTranscode, PathQueryAndBodyMakeOneMessage) {
  auto api = load();
  ASSERT_TRUE(api);
  EXPECT_SAME_JSON(echo_of(*api, "GET", "/v1/echo/42", "name=a%20b&tags=x&tags=y&address.city=Paris&active=1&role=2&unknown=1", ""),
            R"({"id":"42","name":"a b","role":"ROLE_MEMBER","tags":["x","y"],"address":{"city":"Paris"},"active":true})");
}

TEST(GrpcGatewayTranscode, ScalarOnlyRequestsEncodeAsProtobufsParserWould) {
  auto api = load();
  ASSERT_TRUE(api);
  // Top-level scalars only: the direct encoder; the same message protobuf's parser would make.
  EXPECT_SAME_JSON(echo_of(*api, "GET", "/v1/echo/-42",
                           "name=bob&role=ROLE_ADMIN&tags=a&tags=b&active=1&score=-2.5&big=18446744073709551615"
                           "&displayLabel=L&role=2&nope=x",
                           ""),
                   R"({"id":"-42","name":"bob","role":"ROLE_MEMBER","tags":["a","b"],"active":true,"score":-2.5,)"
                   R"("big":"18446744073709551615","displayLabel":"L"})");
  // What it does not take goes to protobuf's parser: UTF-8, out of range, a name it cannot read.
  EXPECT_SAME_JSON(echo_of(*api, "GET", "/v1/echo/1", "name=%C3%A9t%C3%A9", ""), R"({"id":"1","name":"été"})");
  std::string error;
  EXPECT_EQ(echo_of(*api, "GET", "/v1/echo/1", "big=18446744073709551616", "", &error), "error");
  EXPECT_NE(error.find("TYPE_UINT64"), std::string::npos) << error;
  EXPECT_EQ(echo_of(*api, "GET", "/v1/echo/1", "role=ROLE_NOPE", "", &error), "error");
  EXPECT_NE(error.find("ROLE_NOPE"), std::string::npos) << error;
  EXPECT_SAME_JSON(echo_of(*api, "GET", "/v1/echo/1", "score=1e3", ""), R"({"id":"1","score":1000})");
}

TEST(GrpcGatewayTranscode, BodyFieldAndPathVariablesCombine) {
  auto api = load();
  ASSERT_TRUE(api);
  EXPECT_SAME_JSON(echo_of(*api, "PUT", "/v1/echo/5/note", "name=q", R"("hello")"),
            R"({"id":"5","name":"q","note":"hello"})");
  EXPECT_SAME_JSON(echo_of(*api, "POST", "/v1/echo/9:annotate", "name=ignored", R"({"id":"3","displayLabel":"L"})"),
            R"({"id":"9","displayLabel":"L"})");
  EXPECT_SAME_JSON(echo_of(*api, "POST", "/v1/echo", "", R"({"big":"18446744073709551615","since":"2024-01-02T03:04:05Z"})"),
            R"({"since":"2024-01-02T03:04:05Z","big":"18446744073709551615"})");
}

TEST(GrpcGatewayTranscode, InputThatDoesNotFitTheMessageIsRefused) {
  auto api = load();
  ASSERT_TRUE(api);
  for (std::string_view body : {R"({"nope":1})", R"({"name":1})", R"({"id":"x"})", R"({"id":"99999999999999999999"})",
                                R"({"big":-1})", "not json", "[1]"}) {
    std::string error;
    EXPECT_EQ(echo_of(*api, "POST", "/v1/echo", "", body, &error), "error") << body;
    EXPECT_FALSE(error.empty()) << body;
  }
  std::string error;
  EXPECT_EQ(echo_of(*api, "GET", "/v1/echo/1", "active=maybe", "", &error), "error");
  EXPECT_EQ(error, "field active: 'maybe' is not a boolean");
  EXPECT_EQ(echo_of(*api, "GET", "/v1/echo/1", "address=x", "", &error), "error");
}

TEST(GrpcGatewayTranscode, StatusesCarryTheirDetails) {
  auto api = load();
  ASSERT_TRUE(api);
  // google.rpc.Status{code 3, message "m", details [Any{<url>, ResourceInfo{resource_type "R"}}]}, as
  // grpc-status-details-bin carries it (base64, unpadded).
  auto details_bin = [](const std::string& url) {
    std::string info("\x0a\x01R", 3);
    std::string any = "\x0a" + std::string(1, static_cast<char>(url.size())) + url + "\x12" +
                      std::string(1, static_cast<char>(info.size())) + info;
    std::string status = std::string("\x08\x03\x12\x01m\x1a", 6) + std::string(1, static_cast<char>(any.size())) + any;
    std::string b64 = crypto::base64_encode(status);
    while (b64.ends_with('=')) b64.pop_back();
    return b64;
  };
  EXPECT_EQ(status_json(*api, 3, "", details_bin("type.googleapis.com/google.rpc.ResourceInfo")),
            R"({"code":3,"message":"m","details":[{"@type":"type.googleapis.com/google.rpc.ResourceInfo","resourceType":"R"}]})");
  EXPECT_EQ(status_json(*api, 3, "header", details_bin("type.googleapis.com/x.Unknown")),
            R"({"code":3,"message":"header","details":[{"@type":"type.googleapis.com/x.Unknown","value":"CgFS"}]})");
  GrpcStatus s;
  read_status_fields("grpc-status: 3\r\ngrpc-message: bad%20input\r\n", s);
  EXPECT_TRUE(s.present);
  EXPECT_EQ(s.code, 3);
  EXPECT_EQ(s.message, "bad input");
  EXPECT_EQ(status_json(*api, 3, s.message, {}), R"({"code":3,"message":"bad input","details":[]})");
}

// A service's message whose JSON form, as protobuf prints it, Boost.JSON cannot read back (to
// take out a response_body field): an error for the caller, not an exception (found by
// tests/fuzz/grpc_gateway_fuzz; its input is tests/fuzz/corpus/grpc_gateway/regression-*).
TEST(GrpcGatewayTranscode, AMessageWithoutAJsonFormIsAnError) {
  auto api = load();
  ASSERT_TRUE(api);
  const std::string message(
      "\x07\x01\x08\x00\x12\x2c\x40\x2d\x0a\x00\x2a\x2f\x76\x31\x7b\x40\x0a\x00\x2a\x2f\x01\x00\x60\x40\x00"
      "\xe0\x9f\x90\x76\x31\x7b",
      31);
  int refused = 0;
  for (const Binding& b : api->bindings()) {
    if (b.response_body.empty()) continue;
    std::string out, error;
    bool ok = true;
    EXPECT_NO_THROW(ok = response_json(*api, b, message, {}, out, error)) << b.grpc_path;
    if (!ok && error.starts_with("the service's message has no JSON form")) ++refused;
  }
  EXPECT_GE(refused, 1);
}

TEST(GrpcGatewayTranscode, FramesSplitAnywhere) {
  FrameReader frames(100);
  std::string two = std::string("\0\0\0\0\2ab\0\0\0\0\1c", 13);
  std::string_view message;
  std::string error;
  for (char c : two.substr(0, 6)) frames.append(std::string_view(&c, 1));
  EXPECT_EQ(frames.next(message, error), FrameReader::Next::need_more);
  frames.append(two.substr(6));
  ASSERT_EQ(frames.next(message, error), FrameReader::Next::message);
  EXPECT_EQ(message, "ab");
  ASSERT_EQ(frames.next(message, error), FrameReader::Next::message);
  EXPECT_EQ(message, "c");
  EXPECT_TRUE(frames.empty());
  frames.append(std::string("\1\0\0\0\1x", 6));
  EXPECT_EQ(frames.next(message, error), FrameReader::Next::error);  // compressed
  FrameReader small(3);
  small.append(std::string("\0\0\0\0\4", 5));
  EXPECT_EQ(small.next(message, error), FrameReader::Next::error);  // larger than allowed
}

TEST(GrpcGatewayTranscode, MalformedProtoIsRefusedWithFileLineAndReason) {
  std::string dir = ::testing::TempDir();
  std::string path = dir + "/broken.proto";
  std::ofstream(path) << "syntax = \"proto3\";\npackage p;\nmessage M {\n  string a = 1\n}\n";
  std::string error;
  EXPECT_FALSE(ProtoApi::load(path, {}, error));
  EXPECT_EQ(error, path + ":5:1: Expected \";\".");
  EXPECT_FALSE(ProtoApi::load(dir + "/missing.proto", {}, error));
  EXPECT_EQ(error, "cannot read " + dir + "/missing.proto: No such file or directory");
  std::ofstream(path) << "syntax = \"proto3\";\npackage p;\nimport \"google/api/annotations.proto\";\n"
                         "message M { string a = 1; }\nservice S {\n  rpc Get (M) returns (M) {\n"
                         "    option (google.api.http) = { get: \"/v1/{b}\" };\n  }\n}\n";
  EXPECT_FALSE(ProtoApi::load(path, {}, error));
  EXPECT_EQ(error, path + ":6: rpc Get: GET path \"/v1/{b}\": {b}: no field 'b' in message p.M");
}

TEST(GrpcGatewayTranscode, ImportsResolveFromTheFilesFolderThenTheIncludePaths) {
  std::filesystem::path root = std::filesystem::path(::testing::TempDir()) / "grpc-gateway-includes";
  std::filesystem::create_directories(root / "api");
  std::filesystem::create_directories(root / "shared" / "types");
  std::ofstream(root / "shared" / "types" / "money.proto")
      << "syntax = \"proto3\";\npackage types;\nmessage Money { int64 units = 1; string currency = 2; }\n";
  std::ofstream(root / "api" / "local.proto") << "syntax = \"proto3\";\npackage api;\nmessage Empty {}\n";
  std::ofstream(root / "api" / "pay.proto")
      << "syntax = \"proto3\";\npackage api;\nimport \"local.proto\";\nimport \"types/money.proto\";\n"
         "service Pay { rpc Charge (types.Money) returns (Empty); }\n";
  std::string error;
  EXPECT_FALSE(ProtoApi::load((root / "api" / "pay.proto").string(), {}, error));
  EXPECT_NE(error.find("types/money.proto"), std::string::npos) << error;
  auto api = ProtoApi::load((root / "api" / "pay.proto").string(), {(root / "shared").string()}, error);
  ASSERT_TRUE(api) << error;
  ProtoApi::Found found = api->find("POST", "/api.Pay/Charge");
  ASSERT_NE(found.binding, nullptr);
  std::string frame;
  ASSERT_TRUE(encode_request(*api, found, "", R"({"units":"12","currency":"EUR"})", frame, error)) << error;
  EXPECT_EQ(unframe(frame), std::string("\x08\x0c\x12\x03" "EUR", 7));
}

}  // namespace
}  // namespace portico::grpc_gateway
