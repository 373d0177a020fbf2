#include "plugin/request_json.hpp"

#include <boost/json/array.hpp>

#include <string>

#include "http/params.hpp"

namespace portico::plugin {
namespace json = boost::json;

void add_to_table(boost::json::object& table, std::string_view key, boost::json::value value) {
  auto* existing = table.if_contains(key);
  if (existing == nullptr) {
    table[key] = std::move(value);
    return;
  }
  if (!existing->is_array()) *existing = json::array{*existing};
  existing->as_array().push_back(std::move(value));
}

boost::json::object headers_json(const http::MessageHead& head) {
  json::object headers;
  for (const auto& h : head.headers) add_to_table(headers, http::ascii_lower(h.name), json::string(h.value));
  return headers;
}

boost::json::object args_json(std::string_view encoded) {
  json::object out;
  http::for_each_query_arg(encoded, [&](std::string_view raw_key, std::string_view raw_value) {
    std::string key, value;
    if (!http::percent_decode(raw_key, key) || key.empty()) return;
    bool flag = raw_key.size() == raw_key.find('=') || raw_value.empty();
    http::percent_decode(raw_value, value);
    add_to_table(out, key, flag && value.empty() ? json::value(true) : json::value(value));
  });
  return out;
}

}  // namespace portico::plugin
