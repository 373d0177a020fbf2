#include "plugins/openid-connect/requirements.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace portico::plugins::openid_connect {

namespace json = boost::json;

namespace {

// Whether the claim holds `value`: an array element equal to it, or a word of a
// space-separated string.
bool holds(const json::value& claim, std::string_view value) {
  if (claim.is_array()) {
    const json::array& a = claim.get_array();
    return std::any_of(a.begin(), a.end(), [&](const json::value& v) { return v.is_string() && v.get_string() == value; });
  }
  if (!claim.is_string()) return false;
  std::string_view words = claim.get_string();
  while (!words.empty()) {
    const std::size_t space = words.find(' ');
    if (words.substr(0, space) == value) return true;
    words = space == std::string_view::npos ? std::string_view() : words.substr(space + 1);
  }
  return false;
}

// Whether the claim holds every space-separated value of `all`.
bool holds_all(const json::value& claim, std::string_view all) {
  bool any = false;
  while (!all.empty()) {
    const std::size_t space = all.find(' ');
    const std::string_view value = all.substr(0, space);
    all = space == std::string_view::npos ? std::string_view() : all.substr(space + 1);
    if (value.empty()) continue;
    if (!holds(claim, value)) return false;
    any = true;
  }
  return any;
}

}  // namespace

const json::value* claim_at(const json::object& claims, const std::vector<std::string>& path) {
  const json::object* level = &claims;
  const json::value* found = nullptr;
  for (const std::string& name : path) {
    if (level == nullptr) return nullptr;
    found = level->if_contains(name);
    if (found == nullptr) return nullptr;
    level = found->if_object();
  }
  return found;
}

bool meets(const json::value* claim, const std::vector<std::string>& required) {
  if (required.empty()) return true;
  if (claim == nullptr) return false;
  return std::any_of(required.begin(), required.end(), [&](const std::string& all) { return holds_all(*claim, all); });
}

std::string_view unmet_requirement(const json::object& claims, const std::vector<Requirement>& requirements) {
  for (const Requirement& r : requirements) {
    if (!meets(r.required.empty() ? nullptr : claim_at(claims, r.claim_path), r.required)) return r.name;
  }
  return "";
}

}  // namespace portico::plugins::openid_connect
