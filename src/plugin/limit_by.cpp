#include "plugin/limit_by.hpp"

#include <algorithm>

#include "config/validators.hpp"

namespace portico::plugin {

std::string header_name_problem(const std::string& name) {
  if (name.empty()) return "no header name provided";
  return config::is_valid_header_name(name)
             ? ""
             : "bad header name '" + name + "', allowed characters are A-Z, a-z, 0-9, '_', and '-'";
}

std::string limit_path_problem(const std::string& p) {
  if (p.empty() || p[0] != '/') return "should start with: /";
  return p.find("//") == std::string::npos ? "" : "must not have empty segments";
}

void check_limit_by(LimitBy& by, schema::Errors& errors) {
  using Kind = LimitBy::Kind;
  // (the record's one_of has already refused any other name)
  by.kind = by.limit_by == "credential" ? Kind::credential
            : by.limit_by == "ip"       ? Kind::ip
            : by.limit_by == "service"  ? Kind::service
            : by.limit_by == "header"   ? Kind::header
            : by.limit_by == "path"     ? Kind::path
                                        : Kind::consumer;
  if (by.kind == Kind::header) {
    if (by.header_name.empty()) errors.push_back({"header_name", "required field missing"});
    // As Kong (nginx's $http_x_name): '_' and '-' are the same in a header's name here.
    by.header_name = config::to_lower(by.header_name);
    std::replace(by.header_name.begin(), by.header_name.end(), '_', '-');
  }
  if (by.kind == Kind::path && by.path.empty()) errors.push_back({"path", "required field missing"});
}

std::string_view limit_key(const RequestContext& ctx, const LimitBy& by) {
  using Kind = LimitBy::Kind;
  switch (by.kind) {
    case Kind::consumer:
      if (ctx.consumer() != nullptr) return ctx.consumer()->id;
      [[fallthrough]];  // no consumer: the credential's, as Kong
    case Kind::credential:
      if (ctx.has_credential() && !ctx.credential_identifier().empty()) return ctx.credential_identifier();
      break;
    case Kind::service:
      if (ctx.service() != nullptr) return ctx.service()->id;
      break;
    case Kind::header:
      if (auto value = ctx.request().find(by.header_name); value.data() != nullptr) return value;
      break;
    case Kind::path:
      if (ctx.path() == by.path) return by.path;
      break;
    case Kind::ip: break;
  }
  return ctx.client_ip();
}

}  // namespace portico::plugin
