#include "admin/kong_errors.hpp"

#include <vector>

namespace portico::admin {

namespace json = boost::json;

namespace {

// "config.key_names[1]" -> {"config", "key_names", "[1]"}: names, and indices kept as "[n]".
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : path) {
    if (c == '.' || c == '[') {
      if (!current.empty()) parts.push_back(current);
      current = c == '[' ? "[" : "";
    } else if (c != ']' || current.empty() || current.front() != '[') {
      current += c;
    }
  }
  if (!current.empty()) parts.push_back(current);
  return parts;
}

void add_entity_error(json::value& slot, const std::string& message) {
  if (slot.is_null()) slot = json::object{};
  if (slot.is_string() || slot.is_array()) slot = json::object{{"@entity", json::array{slot}}};
  if (!slot.is_object()) return;
  auto& list = slot.as_object()["@entity"];
  if (!list.is_array()) list = json::array{};
  list.as_array().emplace_back(message);
}

// An array index written "[n]" (what the schema layer writes for elements), or -1. Paths
// also hold names users chose ("[999...]" as a map key), so anything else is a name and
// indices are bounded.
long index_of(const std::string& part) {
  if (part.size() < 2 || part.size() > 7 || part.front() != '[') return -1;
  long n = 0;
  for (std::size_t i = 1; i < part.size(); ++i) {
    if (part[i] < '0' || part[i] > '9') return -1;
    n = n * 10 + (part[i] - '0');
  }
  return n <= 100000 ? n : -1;
}

// The slot for `part` inside `node`, turning `node` into the container it needs; a message
// already there becomes the container's "@entity" error.
json::value* child(json::value& node, const std::string& part) {
  long index = index_of(part);
  if (node.is_string()) {
    json::value message = node;
    node = json::object{{"@entity", json::array{message}}};
  }
  if (index >= 0) {
    auto i = static_cast<std::size_t>(index);
    if (node.is_null()) node = json::array{};
    if (!node.is_array()) return nullptr;
    if (node.as_array().size() <= i) node.as_array().resize(i + 1);
    return &node.as_array()[i];
  }
  if (node.is_null()) node = json::object{};
  if (!node.is_object()) return nullptr;
  return &node.as_object()[part];
}

}  // namespace

json::object schema_violation(const schema::Errors& errors) {
  json::value fields = json::object{};
  std::string summary;
  for (const auto& e : errors) {
    summary += (summary.empty() ? "" : "; ") + (e.path.empty() ? e.message : e.path + ": " + e.message);
    json::value* slot = &fields;
    std::vector<std::string> parts = split_path(e.path);
    for (std::size_t i = 0; i < parts.size() && slot != nullptr; ++i) slot = child(*slot, parts[i]);
    if (slot == nullptr) continue;
    bool about_record = e.subject == schema::FieldError::Subject::record;
    if (parts.empty() || about_record || slot->is_object()) add_entity_error(*slot, e.message);
    else if (slot->is_null()) *slot = json::string(e.message);
    else add_entity_error(*slot, e.message);
  }
  std::string message = errors.size() == 1 ? "schema violation (" + summary + ")"
                                           : std::to_string(errors.size()) + " schema violations (" + summary + ")";
  return json::object{{"code", 2}, {"name", "schema violation"}, {"message", message}, {"fields", std::move(fields)}};
}

}  // namespace portico::admin
