#include "plugin/calls/pointer.hpp"

#include <boost/json.hpp>

namespace portico::plugin::calls {

bool valid_pointer(std::string_view pointer) {
  if (pointer.empty()) return true;
  if (pointer.front() != '/') return false;
  for (std::size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] == '~' && (i + 1 == pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1'))) return false;
  }
  return true;
}

const boost::json::value* find_pointer(const boost::json::value& v, std::string_view pointer) {
  if (!valid_pointer(pointer)) return nullptr;
  const boost::json::value* at = &v;
  while (!pointer.empty()) {
    pointer.remove_prefix(1);  // the '/'
    std::size_t slash = pointer.find('/');
    std::string_view raw = pointer.substr(0, slash);
    pointer = slash == std::string_view::npos ? std::string_view{} : pointer.substr(slash);
    std::string token;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~') token += raw[++i] == '0' ? '~' : '/';
      else token += raw[i];
    }
    if (at->is_object()) {
      at = at->as_object().if_contains(token);
    } else if (at->is_array()) {
      const auto& array = at->as_array();
      std::size_t index = 0;
      bool digits = !token.empty() && (token == "0" || token[0] != '0');
      for (char c : token) {
        digits = digits && c >= '0' && c <= '9';
        if (digits) index = index * 10 + static_cast<std::size_t>(c - '0');
        if (index > array.size()) break;
      }
      at = digits && index < array.size() ? &array[index] : nullptr;
    } else {
      at = nullptr;
    }
    if (at == nullptr) return nullptr;
  }
  return at;
}

std::optional<boost::json::value> select(const boost::json::value& v, std::string_view pointer) {
  const boost::json::value* at = find_pointer(v, pointer);
  if (!at) return std::nullopt;
  return *at;
}

}  // namespace portico::plugin::calls
