#include "plugins/proxy-cache/cache_key.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include "crypto/digest.hpp"
#include "http/params.hpp"

namespace portico::plugins::cache {
namespace {

// A key part: its length, ':', its bytes.
void append_part(std::string& out, std::string_view part) {
  char length[24];
  auto end = std::to_chars(length, length + sizeof length, part.size()).ptr;
  out.append(length, end).append(1, ':').append(part);
}

struct Arg {
  std::vector<std::string> values;  // decoded; none when only given bare
  bool bare = false;                // given without '=' ("?a")
};

// A part lowercased in place (host, path under ignore_uri_case): no copy on the lookup path.
void append_lower_part(std::string& out, std::string_view part) {
  append_part(out, part);
  for (std::size_t i = out.size() - part.size(); i < out.size(); ++i) {
    char c = out[i];
    out[i] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
}

// A name and its values (sorted), each a length-prefixed part, with whether it was also given
// bare and how many values follow: two different sets of arguments never render alike.
void append_values(std::string& out, std::string_view name, bool bare, std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  append_part(out, name);
  append_part(out, bare ? "bare" : "");
  append_part(out, std::to_string(values.size()));
  for (const auto& v : values) append_part(out, v);
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
  auto add = [&](const std::string& name, const Arg& arg) { append_values(out, name, arg.bare, arg.values); };
  if (vary_query_params.empty()) {
    for (const auto& [name, arg] : args) add(name, arg);
  } else {
    for (const auto& name : vary_query_params) {
      if (auto it = args.find(name); it != args.end()) add(name, it->second);
    }
  }
  return out;
}

std::string cache_key_text(const KeyRequest& r, const KeyRules& rules) {
  std::string text;
  text.reserve(128 + r.route_id.size() + r.host.size() + r.path.size() + r.query.size());
  append_part(text, r.route_id);
  append_part(text, r.consumer_id);
  append_part(text, r.method);
  append_part(text, r.scheme);
  append_lower_part(text, r.host);
  if (rules.ignore_uri_case) append_lower_part(text, r.path);
  else append_part(text, r.path);
  append_part(text, query_part(r.query, rules.vary_query_params));
  for (const auto& name : rules.vary_headers) {
    std::vector<std::string> values;
    if (r.headers != nullptr) {
      for (const auto& h : r.headers->headers) {
        if (http::iequals(h.name, name)) values.emplace_back(h.value);
      }
    }
    append_values(text, name, false, std::move(values));
  }
  return text;
}

std::string key_digest(std::string_view key_text) { return crypto::sha256_hex(key_text); }

}  // namespace portico::plugins::cache
