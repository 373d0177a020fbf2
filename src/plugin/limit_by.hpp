// Kong's `limit_by` (rate-limiting's fields), shared by the plugins that keep a count per
// client: which request property names the client, and the fallback to its address.
//
//   consumer    the consumer's id, else the credential's
//   credential  the credential's identifier
//   ip          the client's address
//   service     the service's id
//   header      the first value of `header_name`
//   path        `path`, for requests whose normalised path is exactly it
// Whatever has no value falls back to the client's address, as in Kong.
#pragma once

#include <string>
#include <string_view>

#include "plugin/request_context.hpp"
#include "schema/record.hpp"

namespace portico::plugin {

struct LimitBy {
  std::string limit_by = "consumer";
  std::string header_name;  // lowercased once read
  std::string path;
  // limit_by, decided once when the config is read (check_limit_by), not per request.
  enum class Kind { consumer, credential, ip, service, header, path };
  Kind kind = Kind::consumer;
};

// Kong's messages for a header name and a path.
std::string header_name_problem(const std::string& name);
std::string limit_path_problem(const std::string& path);

// Adds Kong's `limit_by`, `header_name` and `path` fields for the LimitBy at `member`.
template <typename C>
void add_limit_by_fields(schema::Record<C>& record, LimitBy C::*member) {
  record.template field<std::string>("limit_by", [member](C& c) -> std::string& { return (c.*member).limit_by; },
                                     {.one_of = {"consumer", "credential", "ip", "service", "header", "path"}});
  record.template field<std::string>("header_name", [member](C& c) -> std::string& { return (c.*member).header_name; },
                                     {.nullable = true, .check = header_name_problem});
  record.template field<std::string>("path", [member](C& c) -> std::string& { return (c.*member).path; },
                                     {.nullable = true, .check = limit_path_problem});
}

// The record-level checks (header_name / path required by their limit_by), run from the
// plugin's finish step; sets `kind` and lowercases header_name.
void check_limit_by(LimitBy& by, schema::Errors& errors);

// The request's key for `by` (a view valid for the request).
std::string_view limit_key(const RequestContext& ctx, const LimitBy& by);

}  // namespace portico::plugin
