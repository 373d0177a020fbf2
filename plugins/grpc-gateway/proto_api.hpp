// A .proto file's services as the grpc-gateway plugin serves them over REST: the file read
// with libprotobuf's compiler (imports from the file's folder, the configured include paths,
// protobuf's well-known types in /usr/include and the google/api and google/rpc protos of
// Debian's grpc-gateway package), and each method's HTTP bindings from its google.api.http
// annotation; a method without one is bound to POST /package.Service/Method.
//
// Loaded on the control thread when the configuration is read; immutable afterwards and
// shared by every worker (find() and the resolver are safe to use from any thread).
#pragma once

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/type_resolver.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "path_template.hpp"

namespace portico::grpc_gateway {

// Where Debian's golang-github-grpc-ecosystem-grpc-gateway-dev puts google/api/*.proto and
// google/rpc/*.proto (always searched, after the configured include paths).
inline constexpr std::string_view kGoogleApisDir =
    "/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis";

// One HTTP route to one gRPC method.
struct Binding {
  std::string http_method;  // "GET", "POST", ...
  PathTemplate path;
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::string grpc_path;      // "/package.Service/Method"
  std::string body;           // "" (no body), "*" (the whole request message) or a field name
  std::string response_body;  // "" (the whole response message) or a field name
  std::string input_url, output_url;  // the messages' type URLs, for the resolver
  bool server_streaming() const { return method->server_streaming(); }
};

class ProtoApi {
 public:
  // Reads `file`; null with `error` ("user.proto:12:5: Expected ';'.") when it cannot.
  static std::shared_ptr<const ProtoApi> load(const std::string& file, const std::vector<std::string>& include_paths,
                                              std::string& error);

  struct Found {
    const Binding* binding = nullptr;
    PathTemplate::Captures captures;
    std::string allowed;  // no binding for this method: the methods the path has ("GET, POST"), if any
  };
  // The first binding (in declaration order) of `method` whose template matches `path`.
  Found find(std::string_view method, std::string_view path) const;

  // Type URLs "type.googleapis.com/<full name>" of every message and enum of the loaded
  // files, answered from memory (JSON <-> binary conversion).
  google::protobuf::util::TypeResolver& resolver() const { return *resolver_; }
  const google::protobuf::DescriptorPool& pool() const { return *importer_->pool(); }
  const std::vector<Binding>& bindings() const { return bindings_; }

  ProtoApi();
  ~ProtoApi();

 private:
  google::protobuf::compiler::DiskSourceTree tree_;
  std::unique_ptr<google::protobuf::compiler::MultiFileErrorCollector> errors_;
  std::unique_ptr<google::protobuf::compiler::Importer> importer_;
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver_;
  std::vector<Binding> bindings_;
};

inline std::string type_url(std::string_view full_name) {
  return "type.googleapis.com/" + std::string(full_name);
}

}  // namespace portico::grpc_gateway
