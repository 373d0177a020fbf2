// What a token must hold to pass (Kong's scopes_required, audience_required, groups_required,
// roles_required): each is a list of alternatives, each alternative a space-separated set of
// values that must all be present ("read write" AND; two entries OR), looked up in the claim
// named by the matching *_claim path (nested objects: ["realm_access", "roles"]). The claim
// may be a space-separated string (OAuth's `scope`) or an array of strings.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace portico::plugins::openid_connect {

// The claim at `path` in `claims` (each element one level down), or null.
const boost::json::value* claim_at(const boost::json::object& claims, const std::vector<std::string>& path);

// Whether `claim` satisfies `required` (empty: always).
bool meets(const boost::json::value* claim, const std::vector<std::string>& required);

struct Requirement {
  std::string_view name;  // "scopes", for the log and the 403's reason
  const std::vector<std::string>& claim_path;
  const std::vector<std::string>& required;
};

// The name of the first requirement `claims` do not meet, or "" when all are met.
std::string_view unmet_requirement(const boost::json::object& claims, const std::vector<Requirement>& requirements);

}  // namespace portico::plugins::openid_connect
