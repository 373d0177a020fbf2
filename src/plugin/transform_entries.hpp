// What Kong's request-transformer and response-transformer share: their "name:value" entries
// (with Kong's validation messages) and their test for a JSON body.
#pragma once

#include <string>
#include <string_view>

namespace portico::plugin {

// An entry split as Kong does (Lua `^([^:]+):*(.-)$`): the name is what precedes the first
// colon, every colon after it is skipped, the value is the rest ("h:v:2" is h = "v:2";
// "k" and "k:" have an empty value).
struct NameValue {
  std::string_view name, value;
};
NameValue split_entry(std::string_view entry);

// Schema checks (Rules::check: "" when valid, else Kong's message).
// "name:value" with a name ("invalid value: <entry>" otherwise).
std::string check_name_value(const std::string& entry);
// A header entry "name:value": a valid field name that is not one the gateway frames the
// message with, and a value without line breaks.
std::string check_header_entry(const std::string& entry);
// A header rename "old:new": both names valid.
std::string check_header_rename(const std::string& entry);
// A header name alone (remove).
std::string check_header_name(const std::string& name);

// Kong's is_json_body: one of the comma-separated media types is application/json or
// application/<anything>+json (parameters allowed, case-insensitive).
bool is_json_content_type(std::string_view content_type);

}  // namespace portico::plugin
