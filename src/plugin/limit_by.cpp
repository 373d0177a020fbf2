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
  if (by.limit_by == "header") {
    if (by.header_name.empty()) errors.push_back({"header_name", "required field missing"});
    // As Kong (nginx's $http_x_name): '_' and '-' are the same in a header's name here.
    by.header_name = config::to_lower(by.header_name);
    std::replace(by.header_name.begin(), by.header_name.end(), '_', '-');
  }
  if (by.limit_by == "path" && by.path.empty()) errors.push_back({"path", "required field missing"});
}

std::string_view limit_key(const RequestContext& ctx, const LimitBy& by) {
  const std::string& kind = by.limit_by;
  if (kind == "consumer") {
    if (ctx.consumer() != nullptr) return ctx.consumer()->id;
    if (ctx.has_credential() && !ctx.credential_identifier().empty()) return ctx.credential_identifier();
  } else if (kind == "credential") {
    if (ctx.has_credential() && !ctx.credential_identifier().empty()) return ctx.credential_identifier();
  } else if (kind == "service") {
    if (ctx.service() != nullptr) return ctx.service()->id;
  } else if (kind == "header") {
    auto value = ctx.request().find(by.header_name);
    if (value.data() != nullptr) return value;
  } else if (kind == "path") {
    if (ctx.path() == by.path) return by.path;
  }
  return ctx.client_ip();
}

}  // namespace portico::plugin
