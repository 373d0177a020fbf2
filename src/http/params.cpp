#include "http/params.hpp"

#include "http/header_view.hpp"

namespace portico::http {
std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    std::string_view pair = trim_ows(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim_ows(pair.substr(0, eq)) == name) {
      std::string_view v = trim_ows(pair.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return {};
}

std::string_view query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
  }
  return {};
}

}  // namespace portico::http

namespace portico::http {

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  std::size_t run = 0;  // start of the characters copied as they are
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c != '%' && (c != '+' || !plus_is_space)) continue;
    out.append(in.data() + run, i - run);
    if (c == '+') {
      out.push_back(' ');
    } else {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_digit_value(in[i + 1]), lo = hex_digit_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
    run = i + 1;
  }
  out.append(in.data() + run, in.size() - run);
  return true;
}

std::string query_without(std::string_view query, std::string_view name) {
  std::string out, decoded;
  for_each_query_arg(query, [&](std::string_view key, std::string_view value) {
    if (percent_decode(key, decoded) && decoded == name) return;
    if (!out.empty()) out.push_back('&');
    // The argument exactly as written ("key", "key=" or "key=value").
    const char* end = value.empty() ? key.data() + key.size() : value.data() + value.size();
    if (value.empty() && end < query.data() + query.size() && *end == '=') ++end;
    out.append(key.data(), static_cast<std::size_t>(end - key.data()));
  });
  return out;
}

std::string percent_encode(std::string_view value, std::string_view also_keep) {
  return percent_encode_where(value, [also_keep](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || (c != 0 && also_keep.find(static_cast<char>(c)) != std::string_view::npos);
  });
}

}  // namespace portico::http
