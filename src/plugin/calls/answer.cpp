#include "plugin/calls/answer.hpp"

#include <boost/json.hpp>

#include "plugin/calls/values.hpp"

namespace portico::plugin::calls {

Answer read_answer(const BackendResult& r) {
  using R = BackendResult::Outcome;
  Answer a;
  if (r.outcome == R::timed_out) {
    a.timed_out = true;
    a.error = r.error.empty() ? "timed out" : r.error;
    return a;
  }
  if (r.outcome != R::response) {
    a.error = r.error;
    return a;
  }
  if (r.status < 200 || r.status > 299) {
    a.error = "answered " + std::to_string(r.status);
    return a;
  }
  if (!r.body.empty()) {
    boost::system::error_code ec;
    a.body = boost::json::parse(r.body, ec);
    if (ec) {
      a.error = "answered with a body that is not JSON";
      return a;
    }
  }
  a.ok = true;
  return a;
}

const boost::json::value* find_item_by_key(const boost::json::value& list, std::string_view key, std::string_view wanted) {
  if (!list.is_array()) return nullptr;
  for (const auto& item : list.get_array()) {
    if (!item.is_object()) continue;
    const boost::json::value* k = item.get_object().if_contains(key);
    if (!k) continue;
    // Keys are mostly numbers or strings: compare those without building their text.
    if (k->is_string() ? k->get_string() == wanted : (scalar_text(*k) == wanted)) return &item;
  }
  return nullptr;
}

boost::json::value item_by_key(const boost::json::value& list, std::string_view key, std::string_view wanted) {
  const boost::json::value* item = find_item_by_key(list, key, wanted);
  return item ? *item : boost::json::value(nullptr);
}

}  // namespace portico::plugin::calls
