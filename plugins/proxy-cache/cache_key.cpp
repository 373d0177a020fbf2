#include "plugins/proxy-cache/cache_key.hpp"

#include <algorithm>
#include <map>

#include "crypto/digest.hpp"
#include "http/params.hpp"

namespace portico::plugins::cache {
namespace {

// A key part: its length, ':', its bytes.
void append_part(std::string& out, std::string_view part) {
  out += std::to_string(part.size());
  out += ':';
  out.append(part);
}

struct Arg {
  std::vector<std::string> values;  // decoded; none when only given bare
  bool bare = false;                // given without '=' ("?a")
};

std::string render(std::string_view name, const Arg& arg) {
  if (arg.values.empty()) return std::string(name);
  std::vector<std::string> values = arg.values;
  std::sort(values.begin(), values.end());
  std::string out(name);
  out += '=';
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
  return out;
}

}  // namespace

std::string query_part(std::string_view query, const std::vector<std::string>& vary_query_params) {
  std::map<std::string, Arg> args;  // sorted by name
  http::for_each_query_arg(query, [&](std::string_view raw_name, std::string_view raw_value) {
    std::string name, value;
    if (!http::percent_decode(raw_name, name)) name.assign(raw_name);
    Arg& arg = args[name];
    if (raw_value.data() == nullptr) {  // "?a": no '=' (for_each_query_arg gives a null view)
      arg.bare = true;
      return;
    }
    if (!http::percent_decode(raw_value, value)) value.assign(raw_value);
    arg.values.push_back(std::move(value));
  });
  std::string out;
  auto add = [&](const std::string& name, const Arg& arg) {
    if (!out.empty()) out += ':';
    out += render(name, arg);
  };
  if (vary_query_params.empty()) {
    for (const auto& [name, arg] : args) add(name, arg);
  } else {
    for (const auto& name : vary_query_params) {
      if (auto it = args.find(name); it != args.end()) add(name, it->second);
    }
  }
  return out;
}

std::string cache_key(const KeyRequest& r, const KeyRules& rules) {
  std::string text;
  append_part(text, r.route_id);
  append_part(text, r.consumer_id);
  append_part(text, r.method);
  append_part(text, r.scheme);
  append_part(text, http::ascii_lower(r.host));
  append_part(text, rules.ignore_uri_case ? http::ascii_lower(r.path) : std::string(r.path));
  append_part(text, query_part(r.query, rules.vary_query_params));
  for (const auto& name : rules.vary_headers) {
    std::vector<std::string> values;
    if (r.headers != nullptr) {
      for (const auto& h : r.headers->headers) {
        if (h.name.size() == name.size() && http::ascii_lower(h.name) == name) values.emplace_back(h.value);
      }
    }
    std::sort(values.begin(), values.end());
    std::string joined;
    for (std::size_t i = 0; i < values.size(); ++i) joined += (i ? "," : "") + values[i];
    append_part(text, name);
    append_part(text, joined);
  }
  return crypto::sha256_hex(text);
}

}  // namespace portico::plugins::cache
