// libFuzzer target: the byte-level half of the declarative loader (config/loader.cpp): YAML
// (and JSON, which is YAML) as yaml-cpp reads it, then the tree converted to JSON with every
// node's source position (config/yaml_json), which the schema layer reads. Beyond "no crash,
// no sanitizer report":
//   - only a YAML::ParserException escapes yaml-cpp (the loader catches that one: anything
//     else would end `portico check` or an Admin API /config upload with an exception);
//   - every position recorded is inside the input (line and column from 1, line at most the
//     input's line count + 1) or unknown (0, 0), so a config error never names a place that is not there;
//   - conversion is deterministic (the same tree twice gives the same JSON and marks).
// Built by tests/fuzz/run.sh.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/yaml_json.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException&) {
    return 0;
  }
  if (!root.IsMap()) return 0;  // (the loader refuses anything else at the top)
  portico::config::MarkMap marks, marks_again;
  boost::json::value first = portico::config::yaml_to_json(root, "config", marks);
  boost::json::value second = portico::config::yaml_to_json(root, "config", marks_again);
  check(first == second && marks.size() == marks_again.size());
  const long lines = static_cast<long>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const auto& [path, mark] : marks) {
    if (mark.line == 0) {  // unknown (a node yaml-cpp made up: the missing value of "key:")
      check(mark.column == 0);
      continue;
    }
    check(mark.column >= 1);
    check(mark.line <= lines + 1);
  }
  return 0;
}
