#include "http/forms.hpp"

#include <algorithm>

#include "http/header_lines.hpp"
#include "http/header_view.hpp"
#include "http/params.hpp"

namespace portico::http::forms {

std::vector<Arg> parse_args(std::string_view encoded) {
  std::vector<Arg> args;
  while (!encoded.empty()) {
    std::size_t amp = encoded.find('&');
    std::string_view pair = encoded.substr(0, amp);
    encoded = amp == std::string_view::npos ? std::string_view{} : encoded.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    Arg a;
    a.has_value = eq != std::string_view::npos;
    if (!http::percent_decode(key, a.key)) a.key = std::string(key);
    if (!http::percent_decode(value, a.value)) a.value = std::string(value);
    args.push_back(std::move(a));
  }
  return args;
}

std::string encode_args(const std::vector<Arg>& args) {
  std::string out;
  for (const auto& a : args) {
    if (!out.empty()) out += '&';
    out += http::percent_encode(a.key);
    if (a.has_value) out.append("=").append(http::percent_encode(a.value));
  }
  return out;
}

bool remove_arg(std::vector<Arg>& args, std::string_view key) {
  auto before = args.size();
  std::erase_if(args, [&](const Arg& a) { return a.key == key; });
  return args.size() != before;
}

bool rename_arg(std::vector<Arg>& args, std::string_view from, std::string_view to) {
  if (from == to || std::none_of(args.begin(), args.end(), [&](const Arg& a) { return a.key == from; })) return false;
  remove_arg(args, to);
  for (auto& a : args) {
    if (a.key == from) a.key = std::string(to);
  }
  return true;
}

bool replace_arg(std::vector<Arg>& args, std::string_view key, std::string_view value) {
  auto first = std::find_if(args.begin(), args.end(), [&](const Arg& a) { return a.key == key; });
  if (first == args.end()) return false;
  first->value = std::string(value);
  first->has_value = true;
  std::size_t keep = static_cast<std::size_t>(first - args.begin());
  std::size_t i = 0;
  std::erase_if(args, [&](const Arg& a) { return i++ != keep && a.key == key; });
  return true;
}

bool add_arg(std::vector<Arg>& args, std::string_view key, std::string_view value) {
  if (std::any_of(args.begin(), args.end(), [&](const Arg& a) { return a.key == key; })) return false;
  args.push_back({std::string(key), std::string(value), true});
  return true;
}

void append_arg(std::vector<Arg>& args, std::string_view key, std::string_view value) {
  args.push_back({std::string(key), std::string(value), true});
}

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  std::size_t semi = content_type.find(';');
  if (semi == std::string_view::npos) return std::nullopt;
  std::string_view params = content_type.substr(semi + 1);
  while (!params.empty()) {
    std::size_t next = params.find(';');
    std::string_view param = http::trim_ows(params.substr(0, next));
    params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
    std::size_t eq = param.find('=');
    if (eq == std::string_view::npos || !http::iequals(http::trim_ows(param.substr(0, eq)), "boundary")) continue;
    std::string_view value = http::trim_ows(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    // RFC 2046 5.1.1: 1 to 70 characters.
    if (value.empty() || value.size() > 70) return std::nullopt;
    return std::string(value);
  }
  return std::nullopt;
}

namespace {
// The `name` parameter of a part's Content-Disposition: form-data.
std::string part_name(std::string_view headers) {
  std::string name;
  http::for_each_header_line(headers, [&](std::string_view field, std::string_view rest, std::string_view) {
    if (!name.empty() || !http::iequals(field, "content-disposition")) return;
    for (std::size_t at = rest.find("name="); at != std::string_view::npos; at = rest.find("name=", at + 1)) {
      if (at > 0 && rest[at - 1] != ' ' && rest[at - 1] != ';' && rest[at - 1] != '\t') continue;  // not filename=
      std::string_view v = rest.substr(at + 5);
      if (!v.empty() && v.front() == '"') {
        std::size_t close = v.find('"', 1);
        name = std::string(v.substr(1, close == std::string_view::npos ? v.size() - 1 : close - 1));
      } else {
        name = std::string(http::trim_ows(v.substr(0, v.find(';'))));
      }
      return;
    }
  });
  return name;
}
}  // namespace

std::optional<Multipart> parse_multipart(std::string_view body, const std::string& boundary) {
  Multipart m;
  m.boundary = boundary;
  const std::string delimiter = "--" + boundary;
  std::size_t at = body.find(delimiter);
  // The first delimiter opens the body or follows a line break (after a preamble).
  if (at == std::string_view::npos || at == 1 || (at >= 2 && body.substr(at - 2, 2) != "\r\n")) return std::nullopt;
  at += delimiter.size();
  for (;;) {
    if (body.substr(at, 2) == "--") return m;  // the close delimiter
    if (body.substr(at, 2) != "\r\n") return std::nullopt;
    at += 2;
    std::size_t head_end = body.find("\r\n\r\n", at);
    std::size_t next = body.find("\r\n" + delimiter, at);
    if (next == std::string_view::npos) return std::nullopt;
    Part part;
    if (body.substr(at, 2) == "\r\n") {
      head_end = at;  // a part without header lines
    } else if (head_end == std::string_view::npos || head_end > next) {
      return std::nullopt;
    } else {
      head_end += 2;
    }
    part.headers = std::string(body.substr(at, head_end - at));
    part.body = std::string(body.substr(head_end + 2, next - head_end - 2));
    part.name = part_name(part.headers);
    m.parts.push_back(std::move(part));
    at = next + 2 + delimiter.size();
  }
}

std::string write_multipart(const Multipart& m) {
  std::string out;
  for (const auto& p : m.parts) {
    out.append("--").append(m.boundary).append("\r\n").append(p.headers).append("\r\n").append(p.body).append("\r\n");
  }
  out.append("--").append(m.boundary).append("--\r\n");
  return out;
}

Part simple_part(std::string_view name, std::string_view value) {
  Part p;
  p.name = std::string(name);
  p.headers = "Content-Disposition: form-data; name=\"" + std::string(name) + "\"\r\n";
  p.body = std::string(value);
  return p;
}

}  // namespace portico::http::forms
