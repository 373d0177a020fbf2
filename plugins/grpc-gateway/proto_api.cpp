#include "proto_api.hpp"

#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/type.pb.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/type_resolver_util.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

namespace portico::grpc_gateway {

namespace pb = google::protobuf;

namespace {

constexpr int kHttpRuleExtension = 72295728;  // google.api.http on MethodOptions

// Keeps the first error with the file's path on disk and 1-based line and column.
class FirstError final : public pb::compiler::MultiFileErrorCollector {
 public:
  explicit FirstError(pb::compiler::DiskSourceTree& tree) : tree_(tree) {}
  void AddError(const std::string& filename, int line, int column, const std::string& message) override {
    if (!first_.empty()) return;
    std::string disk;
    if (!tree_.VirtualFileToDiskFile(filename, &disk)) disk = filename;
    first_ = disk;
    if (line >= 0) first_ += ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1);
    first_ += ": " + message;
  }
  const std::string& first() const { return first_; }
  void clear() { first_.clear(); }

 private:
  pb::compiler::DiskSourceTree& tree_;
  std::string first_;
};

// The loaded files' types converted once (protobuf's pool resolver builds a google.protobuf.Type
// at every call); only read afterwards, so any thread may use it.
class PreparedResolver final : public pb::util::TypeResolver {
 public:
  void add_file(const pb::FileDescriptor* file, pb::util::TypeResolver& from) {
    if (!files_.insert(file).second) return;
    for (int i = 0; i < file->dependency_count(); ++i) add_file(file->dependency(i), from);
    for (int i = 0; i < file->message_type_count(); ++i) add_message(file->message_type(i), from);
    for (int i = 0; i < file->enum_type_count(); ++i) add_enum(file->enum_type(i), from);
  }
  pb::util::Status ResolveMessageType(const std::string& url, pb::Type* type) override {
    auto it = messages_.find(url);
    if (it == messages_.end()) return pb::util::Status(pb::util::StatusCode::kNotFound, "unknown type " + url);
    *type = it->second;
    return pb::util::Status();
  }
  pb::util::Status ResolveEnumType(const std::string& url, pb::Enum* type) override {
    auto it = enums_.find(url);
    if (it == enums_.end()) return pb::util::Status(pb::util::StatusCode::kNotFound, "unknown enum " + url);
    *type = it->second;
    return pb::util::Status();
  }

 private:
  void add_message(const pb::Descriptor* m, pb::util::TypeResolver& from) {
    std::string url = type_url(m->full_name());
    pb::Type& type = messages_[url];
    if (!from.ResolveMessageType(url, &type).ok()) messages_.erase(url);
    else type.clear_source_context();  // (copied at every resolution; the converter never reads it)
    for (int i = 0; i < m->nested_type_count(); ++i) add_message(m->nested_type(i), from);
    for (int i = 0; i < m->enum_type_count(); ++i) add_enum(m->enum_type(i), from);
  }
  void add_enum(const pb::EnumDescriptor* e, pb::util::TypeResolver& from) {
    std::string url = type_url(e->full_name());
    if (from.ResolveEnumType(url, &enums_[url]).ok() == false) enums_.erase(url);
  }
  std::set<const pb::FileDescriptor*> files_;
  std::map<std::string, pb::Type, std::less<>> messages_;
  std::map<std::string, pb::Enum, std::less<>> enums_;
};

std::string directory_of(const std::string& file) {
  std::size_t slash = file.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : file.substr(0, slash);
}

// The field a path variable names ("book.id"): singular messages on the way, a singular
// scalar or enum at the end. "" when it does, else why not.
std::string check_field_path(const pb::Descriptor* message, const std::string& path) {
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = path.find('.', start);
    std::string name = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const pb::FieldDescriptor* field = message->FindFieldByName(name);
    if (field == nullptr) return "no field '" + name + "' in message " + message->full_name();
    if (field->is_repeated()) return "field '" + name + "' is repeated";
    if (dot == std::string::npos) {
      if (field->type() == pb::FieldDescriptor::TYPE_MESSAGE || field->type() == pb::FieldDescriptor::TYPE_GROUP) {
        return "field '" + name + "' is a message, not a value";
      }
      return "";
    }
    if (field->type() != pb::FieldDescriptor::TYPE_MESSAGE) return "field '" + name + "' is not a message";
    message = field->message_type();
    start = dot + 1;
  }
}

class BindingReader {
 public:
  BindingReader(const pb::DescriptorPool& pool, pb::compiler::DiskSourceTree& tree, std::vector<Binding>& out)
      : tree_(tree), out_(out), rule_type_(pool.FindMessageTypeByName("google.api.HttpRule")) {}

  bool add_service(const pb::ServiceDescriptor* service, std::string& error) {
    for (int i = 0; i < service->method_count(); ++i) {
      if (!add_method(service->method(i), error)) return false;
    }
    return true;
  }

 private:
  bool add_method(const pb::MethodDescriptor* method, std::string& error) {
    std::string grpc_path = "/" + method->service()->full_name() + "/" + method->name();
    std::unique_ptr<pb::Message> rule = http_rule(method);
    if (rule == nullptr) {  // Kong's fallback: POST /package.Service/Method, the JSON body the message
      Binding b;
      b.http_method = "POST";
      std::string unused;
      b.path.parse(grpc_path, unused);
      b.body = "*";
      add(method, std::move(b), grpc_path);
      return true;
    }
    if (!add_rule(method, *rule, grpc_path, error)) return false;
    const pb::Reflection* r = rule->GetReflection();
    const pb::FieldDescriptor* more = rule_type_->FindFieldByName("additional_bindings");
    for (int i = 0; i < r->FieldSize(*rule, more); ++i) {
      if (!add_rule(method, r->GetRepeatedMessage(*rule, more, i), grpc_path, error)) return false;
    }
    return true;
  }

  // The method's google.api.http option: the pool keeps options it does not know as compiled
  // code in MethodOptions' unknown fields, read here with the pool's own HttpRule.
  std::unique_ptr<pb::Message> http_rule(const pb::MethodDescriptor* method) {
    if (rule_type_ == nullptr) return nullptr;
    const pb::MethodOptions& options = method->options();
    const pb::UnknownFieldSet& unknown = options.GetReflection()->GetUnknownFields(options);
    for (int i = 0; i < unknown.field_count(); ++i) {
      const pb::UnknownField& f = unknown.field(i);
      if (f.number() != kHttpRuleExtension || f.type() != pb::UnknownField::TYPE_LENGTH_DELIMITED) continue;
      std::unique_ptr<pb::Message> rule(factory_.GetPrototype(rule_type_)->New());
      if (rule->ParseFromString(f.length_delimited())) return rule;
    }
    return nullptr;
  }

  bool add_rule(const pb::MethodDescriptor* method, const pb::Message& rule, const std::string& grpc_path,
                std::string& error) {
    const pb::Reflection* r = rule.GetReflection();
    auto text = [&](const char* name) { return r->GetString(rule, rule_type_->FindFieldByName(name)); };
    Binding b;
    std::string path;
    for (const char* verb : {"get", "put", "post", "delete", "patch"}) {
      if (r->HasField(rule, rule_type_->FindFieldByName(verb))) {
        b.http_method = verb;
        for (auto& c : b.http_method) c = static_cast<char>(c - 32);
        path = text(verb);
      }
    }
    const pb::FieldDescriptor* custom = rule_type_->FindFieldByName("custom");
    if (r->HasField(rule, custom)) {
      const pb::Message& pattern = r->GetMessage(rule, custom);
      const pb::Reflection* pr = pattern.GetReflection();
      b.http_method = pr->GetString(pattern, pattern.GetDescriptor()->FindFieldByName("kind"));
      path = pr->GetString(pattern, pattern.GetDescriptor()->FindFieldByName("path"));
      for (auto& c : b.http_method) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    if (b.http_method.empty()) return fail(method, "google.api.http names no method (get, put, post, delete, patch or custom)", error);
    std::string why;
    if (!b.path.parse(path, why)) return fail(method, b.http_method + " path \"" + path + "\": " + why, error);
    for (const auto& v : b.path.variables()) {
      why = check_field_path(method->input_type(), v.field_path);
      if (!why.empty()) return fail(method, b.http_method + " path \"" + path + "\": {" + v.field_path + "}: " + why, error);
    }
    b.body = text("body");
    if (!b.body.empty() && b.body != "*" && method->input_type()->FindFieldByName(b.body) == nullptr) {
      return fail(method, "body \"" + b.body + "\": no such field in message " + method->input_type()->full_name(), error);
    }
    b.response_body = text("response_body");
    if (!b.response_body.empty() && method->output_type()->FindFieldByName(b.response_body) == nullptr) {
      return fail(method, "response_body \"" + b.response_body + "\": no such field in message " +
                              method->output_type()->full_name(), error);
    }
    add(method, std::move(b), grpc_path);
    return true;
  }

  void add(const pb::MethodDescriptor* method, Binding b, const std::string& grpc_path) {
    b.method = method;
    b.grpc_path = grpc_path;
    b.input_url = type_url(method->input_type()->full_name());
    b.output_url = type_url(method->output_type()->full_name());
    out_.push_back(std::move(b));
  }

  bool fail(const pb::MethodDescriptor* method, const std::string& why, std::string& error) {
    std::string disk;
    if (!tree_.VirtualFileToDiskFile(method->file()->name(), &disk)) disk = method->file()->name();
    pb::SourceLocation where;
    error = disk;
    if (method->GetSourceLocation(&where)) error += ":" + std::to_string(where.start_line + 1);
    error += ": rpc " + method->name() + ": " + why;
    return false;
  }

  pb::compiler::DiskSourceTree& tree_;
  std::vector<Binding>& out_;
  const pb::Descriptor* rule_type_;
  pb::DynamicMessageFactory factory_;
};

// The services of `file` and of the files it imports publicly (as Kong collects them).
bool add_services(BindingReader& reader, const pb::FileDescriptor* file, std::string& error) {
  for (int i = 0; i < file->service_count(); ++i) {
    if (!reader.add_service(file->service(i), error)) return false;
  }
  for (int i = 0; i < file->public_dependency_count(); ++i) {
    if (!add_services(reader, file->public_dependency(i), error)) return false;
  }
  return true;
}

}  // namespace

ProtoApi::ProtoApi() = default;
ProtoApi::~ProtoApi() = default;

std::shared_ptr<const ProtoApi> ProtoApi::load(const std::string& file, const std::vector<std::string>& include_paths,
                                               std::string& error) {
  if (::access(file.c_str(), R_OK) != 0) {
    error = "cannot read " + file + ": " + std::strerror(errno);
    return nullptr;
  }
  auto api = std::make_shared<ProtoApi>();
  api->tree_.MapPath("", directory_of(file));
  for (const auto& dir : include_paths) api->tree_.MapPath("", dir);
  api->tree_.MapPath("", "/usr/include");
  api->tree_.MapPath("", std::string(kGoogleApisDir));
  auto collector = std::make_unique<FirstError>(api->tree_);
  FirstError& errors = *collector;
  api->errors_ = std::move(collector);
  api->importer_ = std::make_unique<pb::compiler::Importer>(&api->tree_, api->errors_.get());
  std::size_t slash = file.rfind('/');
  const pb::FileDescriptor* main = api->importer_->Import(slash == std::string::npos ? file : file.substr(slash + 1));
  if (main == nullptr) {
    error = errors.first().empty() ? "cannot load " + file : errors.first();
    return nullptr;
  }
  // The standard error details, so that a status's details print as JSON (optional).
  const pb::FileDescriptor* details = api->importer_->Import("google/rpc/error_details.proto");
  errors.clear();

  BindingReader reader(api->pool(), api->tree_, api->bindings_);
  if (!add_services(reader, main, error)) return nullptr;
  if (api->bindings_.empty()) {
    error = file + ": no service with methods";
    return nullptr;
  }
  std::unique_ptr<pb::util::TypeResolver> from(
      pb::util::NewTypeResolverForDescriptorPool("type.googleapis.com", &api->pool()));
  auto prepared = std::make_unique<PreparedResolver>();
  prepared->add_file(main, *from);
  if (details != nullptr) prepared->add_file(details, *from);
  api->resolver_ = std::move(prepared);
  return api;
}

ProtoApi::Found ProtoApi::find(std::string_view method, std::string_view path) const {
  Found found;
  const PathTemplate::Segments segments = PathTemplate::split(path);
  for (const auto& b : bindings_) {
    if (b.http_method == method && b.path.match(segments, found.captures)) {
      found.binding = &b;
      return found;
    }
  }
  for (const auto& b : bindings_) {  // none: the methods the path has, for a 405
    if (!b.path.match(segments, found.captures)) continue;
    if (found.allowed.find(b.http_method) == std::string::npos) {
      if (!found.allowed.empty()) found.allowed += ", ";
      found.allowed += b.http_method;
    }
  }
  found.captures.clear();
  return found;
}

}  // namespace portico::grpc_gateway
