// Kong's JSON body operations (request-transformer's and response-transformer's remove,
// rename, replace, add, append), over a json_edit::Document, with Portico's paths into
// nested values.
//
// Names: Kong's are top-level keys, literally. Portico also reads a name with '.' or '[' as
// a path: "user.password_hash", "items[*].cost", "items[0].id", "[*].id" (a top-level
// array). A top-level key spelled exactly like the name still wins (what Kong would do), and
// `add`/`append` whose parent object does not exist add the name as a top-level key, as Kong.
// Duplicate keys: remove, rename and replace act on every member of the name (so a
// duplicate cannot smuggle a removed field through); append and add see the last.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "json/json_document.hpp"

namespace portico::json_edit {

struct Path {
  struct Step {
    enum class Kind { key, index, all } kind = Kind::key;
    std::string key;
    std::size_t index = 0;
  };
  std::string name;         // as configured
  std::vector<Step> steps;  // one key step when the name is not a path
  bool ends_with_key() const { return !steps.empty() && steps.back().kind == Step::Kind::key; }
};

// How deep a document must keep nodes for the operations on `path` (Document::parse's
// keep_depth): down to the path's targets and their children (append adds to an array).
inline std::size_t depth_to_keep(const Path& path) { return path.steps.size() + 1; }

// Reads a configured name. A name that is not a well-formed path ("a..b", "x[") is a
// top-level key, as in Kong.
Path parse_path(std::string_view name);

// A value to insert, as JSON text.
struct Value {
  Document::Kind kind = Document::Kind::string;
  std::string json;
};
// A string value.
Value string_value(std::string_view text);
// Kong's json_types: "string" (or empty), "number" (false when `text` is no number: Kong then
// skips the operation), "boolean" ("true" is true, anything else false).
bool typed_value(std::string_view text, std::string_view type, Value& out);

// The operations, with Kong's tests for "present" (Lua truthiness: an absent key and `false`
// are falsy, `null` is not). Each returns whether it changed the document.
bool remove(Document& doc, const Path& path);
// `only_truthy`: request-transformer moves only truthy values; response-transformer any.
// Renaming to the same name does nothing. An existing member named `new_key` is replaced.
bool rename(Document& doc, const Path& path, std::string_view new_key, bool only_truthy);
bool replace(Document& doc, const Path& path, const Value& value);  // only truthy values
bool add(Document& doc, const Path& path, const Value& value);      // only where falsy
// A string becomes [old, new], an array gets the value, anything else becomes [new].
bool append(Document& doc, const Path& path, const Value& value);

}  // namespace portico::json_edit
