#include "plugin/transform_entries.hpp"

#include "config/validators.hpp"
#include "http/header_view.hpp"

namespace portico::plugin {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Fields that frame the message or the connection: the gateway writes them, a plugin entry
// would corrupt the response (Kong's PDK ignores Transfer-Encoding the same way).
bool is_framing_field(std::string_view name) {
  for (std::string_view f : {"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te",
                             "trailer", "proxy-connection"}) {
    if (http::iequals(name, f)) return true;
  }
  return false;
}

std::string header_name_problem(std::string_view name) {
  if (!config::is_valid_header_name(name)) return "'" + std::string(name) + "' is not a valid header";
  if (is_framing_field(name)) return "'" + std::string(name) + "' frames the message: the gateway sets it";
  return {};
}

}  // namespace

NameValue split_entry(std::string_view entry) {
  std::size_t colon = entry.find(':');
  if (colon == std::string_view::npos) return {entry, {}};
  std::size_t value = entry.find_first_not_of(':', colon);
  return {entry.substr(0, colon), value == std::string_view::npos ? std::string_view{} : entry.substr(value)};
}

std::string check_name_value(const std::string& entry) {
  std::size_t colon = entry.find(':');
  if (colon == std::string::npos || colon == 0) return "invalid value: " + entry;
  return {};
}

std::string check_header_entry(const std::string& entry) {
  if (auto problem = check_name_value(entry); !problem.empty()) return problem;
  NameValue nv = split_entry(entry);
  if (auto problem = header_name_problem(nv.name); !problem.empty()) return problem;
  if (nv.value.find_first_of("\r\n") != std::string_view::npos || nv.value.find('\0') != std::string_view::npos) {
    return "the value of '" + std::string(nv.name) + "' has a line break";
  }
  return {};
}

std::string check_header_rename(const std::string& entry) {
  if (auto problem = check_name_value(entry); !problem.empty()) return problem;
  NameValue nv = split_entry(entry);
  if (auto problem = header_name_problem(nv.name); !problem.empty()) return problem;
  return header_name_problem(nv.value);
}

std::string check_header_name(const std::string& name) { return header_name_problem(name); }

bool is_json_content_type(std::string_view content_type) {
  while (!content_type.empty()) {
    std::size_t comma = content_type.find(',');
    std::string_view part = content_type.substr(0, comma);
    content_type = comma == std::string_view::npos ? std::string_view{} : content_type.substr(comma + 1);
    std::string_view type = trim(part.substr(0, part.find(';')));
    std::size_t slash = type.find('/');
    if (slash == std::string_view::npos) continue;
    std::string_view major = trim(type.substr(0, slash)), minor = trim(type.substr(slash + 1));
    if (!http::iequals(major, "application")) continue;
    if (http::iequals(minor, "json")) return true;
    if (minor.size() > 5 && http::iequals(minor.substr(minor.size() - 5), "+json")) return true;
  }
  return false;
}

}  // namespace portico::plugin
