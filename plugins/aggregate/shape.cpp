#include "plugins/aggregate/shape.hpp"

#include <boost/json.hpp>

namespace portico::plugins::aggregate {

namespace json = boost::json;

std::optional<FieldPath> FieldPath::parse(std::string_view text, std::string& error) {
  FieldPath path;
  if (text.empty()) {
    error = "empty path";
    return std::nullopt;
  }
  while (true) {
    std::size_t dot = text.find('.');
    std::string segment(text.substr(0, dot));
    if (segment.size() > 3 && segment.ends_with("[*]")) segment.resize(segment.size() - 3);  // arrays are implicit
    if (segment.empty() || segment == "[*]") {
      error = "empty segment in a dot path";
      return std::nullopt;
    }
    path.segments_.push_back(std::move(segment));
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  return path;
}

namespace {

using Segments = std::vector<const std::vector<std::string>*>;

// Rebuilds `object` member by member in its order, under the key `rename(key)` gives (nullopt:
// dropped). boost::json's erase moves the last member into the gap; answers keep the
// backend's field order.
template <typename Rename>
void rebuild_in_order(json::object& object, Rename rename) {
  json::object kept(object.storage());
  kept.reserve(object.size());
  for (auto& member : object) {
    if (auto key = rename(member.key())) kept.emplace(*key, std::move(member.value()));
  }
  object = std::move(kept);
}

// Keeps, in `v`, what the paths (each from `depth`) allow.
void keep_at(json::value& v, const Segments& paths, std::size_t depth) {
  if (v.is_array()) {
    for (auto& element : v.as_array()) keep_at(element, paths, depth);
    return;
  }
  if (!v.is_object()) return;  // a path going past a scalar: the scalar stays (nothing to pick in it)
  json::object& object = v.as_object();
  for (auto it = object.begin(); it != object.end();) {
    Segments deeper;
    bool whole = false;
    for (const auto* p : paths) {
      if ((*p)[depth] != it->key()) continue;
      if (depth + 1 == p->size()) whole = true;
      else deeper.push_back(p);
    }
    if (!whole && !deeper.empty()) keep_at(it->value(), deeper, depth + 1);
    ++it;
  }
  rebuild_in_order(object, [&](std::string_view key) -> std::optional<std::string_view> {
    for (const auto* p : paths) {
      if ((*p)[depth] == key) return key;
    }
    return std::nullopt;
  });
}

void remove_at(json::value& v, const std::vector<std::string>& path, std::size_t depth) {
  if (v.is_array()) {
    for (auto& element : v.as_array()) remove_at(element, path, depth);
    return;
  }
  if (!v.is_object()) return;
  json::object& object = v.as_object();
  if (depth + 1 == path.size()) {
    if (!object.contains(path[depth])) return;
    rebuild_in_order(object, [&](std::string_view key) -> std::optional<std::string_view> {
      if (key == path[depth]) return std::nullopt;
      return key;
    });
    return;
  }
  if (auto* next = object.if_contains(path[depth])) remove_at(*next, path, depth + 1);
}

void rename_at(json::value& v, const std::vector<std::string>& path, std::size_t depth, const std::string& to) {
  if (v.is_array()) {
    for (auto& element : v.as_array()) rename_at(element, path, depth, to);
    return;
  }
  if (!v.is_object()) return;
  json::object& object = v.as_object();
  if (depth + 1 == path.size()) {
    if (!object.contains(path[depth]) || path[depth] == to) return;
    // In the renamed field's place; a field already called `to` is replaced.
    rebuild_in_order(object, [&](std::string_view key) -> std::optional<std::string_view> {
      if (key == to) return std::nullopt;
      if (key == path[depth]) return std::string_view(to);
      return key;
    });
    return;
  }
  if (auto* next = object.if_contains(path[depth])) rename_at(*next, path, depth + 1, to);
}

}  // namespace

void keep_only(json::value& v, const std::vector<FieldPath>& allow) {
  if (allow.empty()) return;
  Segments paths;
  for (const auto& p : allow) paths.push_back(&p.segments());
  keep_at(v, paths, 0);
}

void remove(json::value& v, const std::vector<FieldPath>& deny) {
  for (const auto& p : deny) remove_at(v, p.segments(), 0);
}

json::value reduce(json::value v, Reduce how) {
  switch (how) {
    case Reduce::none: return v;
    case Reduce::count:
      if (v.is_array()) return static_cast<std::int64_t>(v.as_array().size());
      if (v.is_object()) return static_cast<std::int64_t>(v.as_object().size());
      return v.is_null() ? 0 : 1;
    case Reduce::first:
      if (!v.is_array()) return v;
      return v.as_array().empty() ? json::value(nullptr) : v.as_array().front();
  }
  return v;
}

void rename(json::value& v, const std::vector<std::pair<FieldPath, std::string>>& renames) {
  for (const auto& [path, to] : renames) rename_at(v, path.segments(), 0, to);
}

}  // namespace portico::plugins::aggregate
