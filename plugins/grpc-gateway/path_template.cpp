#include "path_template.hpp"

#include "http/params.hpp"

namespace portico::grpc_gateway {

namespace {

bool ident_char(char c, bool first) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9');
}

bool valid_field_path(std::string_view path) {
  bool start = true;
  for (char c : path) {
    if (c == '.' && !start) {
      start = true;
      continue;
    }
    if (!ident_char(c, start)) return false;
    start = false;
  }
  return !start;
}

}  // namespace

bool percent_decode(std::string_view in, std::string& out, bool keep_slash) {
  if (!keep_slash) return http::percent_decode(in, out, /*plus_is_space=*/false);
  // Multi-segment: each run between encoded slashes decoded on its own, the "%2F"s kept.
  out.clear();
  std::string piece;
  for (;;) {
    std::size_t slash = std::string_view::npos;
    for (std::size_t i = 0; i + 2 < in.size(); ++i) {
      if (in[i] == '%' && in[i + 1] == '2' && (in[i + 2] == 'F' || in[i + 2] == 'f')) {
        slash = i;
        break;
      }
    }
    if (!http::percent_decode(in.substr(0, slash), piece, false)) return false;
    out += piece;
    if (slash == std::string_view::npos) return true;
    out.append(in.substr(slash, 3));
    in.remove_prefix(slash + 3);
  }
}

bool PathTemplate::parse(std::string_view text, std::string& error) {
  text_ = std::string(text);
  segments_.clear();
  variables_.clear();
  verb_.clear();
  if (!text.starts_with('/')) {
    error = "must start with '/'";
    return false;
  }
  // The verb: a ':' after the last '/', outside braces.
  std::size_t last_slash = text.rfind('/');
  std::size_t close = text.rfind('}');
  std::size_t colon = text.rfind(':');
  if (colon != std::string_view::npos && colon > last_slash && (close == std::string_view::npos || colon > close)) {
    verb_ = std::string(text.substr(colon + 1));
    text = text.substr(0, colon);
    if (verb_.empty()) {
      error = "empty verb after ':'";
      return false;
    }
  }
  std::size_t at = 1;
  bool in_variable = false;
  Variable variable;
  auto fail = [&](std::string message) {
    error = std::move(message) + " at character " + std::to_string(at + 1);
    return false;
  };
  if (text.size() == 1) return true;  // "/"
  for (;;) {
    if (at < text.size() && text[at] == '{') {
      if (in_variable) return fail("nested variable");
      std::size_t end = text.find_first_of("=}", at + 1);
      if (end == std::string_view::npos) return fail("unclosed '{'");
      variable = Variable{std::string(text.substr(at + 1, end - at - 1)), segments_.size(), 0, false};
      if (!valid_field_path(variable.field_path)) return fail("bad field path '" + variable.field_path + "'");
      at = end + 1;
      if (text[end] == '}') {
        segments_.push_back({Kind::one, {}});
        variable.last = segments_.size();
        variables_.push_back(variable);
      } else {
        in_variable = true;
        continue;  // the variable's own segments
      }
    } else {
      std::size_t end = text.find_first_of("/}{", at);
      if (end == std::string_view::npos) end = text.size();
      std::string_view piece = text.substr(at, end - at);
      if (piece.empty()) return fail("empty segment");
      if (!segments_.empty() && segments_.back().kind == Kind::any) return fail("'**' must be the last segment");
      if (piece == "**") segments_.push_back({Kind::any, {}});
      else if (piece == "*") segments_.push_back({Kind::one, {}});
      else if (piece.find('*') != std::string_view::npos) return fail("'*' must be a whole segment");
      else segments_.push_back({Kind::literal, std::string(piece)});
      at = end;
      if (in_variable && at < text.size() && text[at] == '}') {
        ++at;
        in_variable = false;
        variable.last = segments_.size();
        variable.to_end = segments_.back().kind == Kind::any;
        variables_.push_back(variable);
      }
    }
    if (at >= text.size()) break;
    if (text[at] != '/') return fail("expected '/'");
    ++at;
  }
  if (in_variable) return fail("unclosed '{'");
  for (std::size_t i = 0; i + 1 < segments_.size(); ++i) {
    if (segments_[i].kind == Kind::any) {
      at = 0;
      error = "'**' must be the last segment";
      return false;
    }
  }
  return true;
}

PathTemplate::Segments PathTemplate::split(std::string_view path) {
  Segments out;
  if (path.starts_with('/')) path.remove_prefix(1);
  if (path.empty()) return out;
  for (;;) {
    std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool PathTemplate::match(std::string_view path, Captures& captures) const { return match(split(path), captures); }

bool PathTemplate::match(std::span<const std::string_view> parts, Captures& captures) const {
  captures.clear();
  std::string_view last_part = parts.empty() ? std::string_view{} : parts.back();
  if (!verb_.empty()) {  // the last segment without its ":verb"
    if (last_part.size() <= verb_.size() || !last_part.ends_with(verb_) ||
        last_part[last_part.size() - verb_.size() - 1] != ':') {
      return false;
    }
    last_part.remove_suffix(verb_.size() + 1);
  }
  auto part = [&](std::size_t i) { return i + 1 == parts.size() ? last_part : parts[i]; };
  const bool open_end = !segments_.empty() && segments_.back().kind == Kind::any;
  if (open_end ? parts.size() + 1 < segments_.size() : parts.size() != segments_.size()) return false;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const Segment& s = segments_[i];
    if (s.kind == Kind::any) break;
    if (s.kind == Kind::one ? part(i).empty() : part(i) != s.literal) return false;
  }
  for (const auto& v : variables_) {
    std::size_t last = v.to_end ? parts.size() : v.last;
    std::string raw;
    for (std::size_t i = v.first; i < last; ++i) {
      if (i > v.first) raw += '/';
      raw.append(part(i));
    }
    std::string value;
    if (!percent_decode(raw, value, last - v.first != 1 || v.to_end)) return false;
    captures.emplace_back(v.field_path, std::move(value));
  }
  return true;
}

}  // namespace portico::grpc_gateway
