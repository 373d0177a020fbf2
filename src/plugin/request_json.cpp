#include "plugin/request_json.hpp"

#include <boost/json/array.hpp>

#include <string>

#include "http/params.hpp"

namespace portico::plugin {
namespace json = boost::json;

boost::json::object headers_json(const http::MessageHead& head) {
  json::object headers;
  for (const auto& h : head.headers) {
    std::string key = http::ascii_lower(h.name);
    auto* existing = headers.if_contains(key);
    if (existing == nullptr) {
      headers[key] = h.value;
    } else if (existing->is_array()) {
      existing->as_array().emplace_back(h.value);
    } else {
      json::array values{*existing, json::string(h.value)};
      *existing = std::move(values);
    }
  }
  return headers;
}

boost::json::object args_json(std::string_view encoded) {
  json::object out;
  http::for_each_query_arg(encoded, [&](std::string_view raw_key, std::string_view raw_value) {
    std::string key, value;
    if (!http::percent_decode(raw_key, key) || key.empty()) return;
    bool flag = raw_key.size() == raw_key.find('=') || raw_value.empty();
    http::percent_decode(raw_value, value);
    json::value v = flag && value.empty() ? json::value(true) : json::value(value);
    if (auto* existing = out.if_contains(key)) {
      if (!existing->is_array()) *existing = json::array{*existing};
      existing->as_array().push_back(std::move(v));
    } else {
      out[key] = std::move(v);
    }
  });
  return out;
}

}  // namespace portico::plugin
