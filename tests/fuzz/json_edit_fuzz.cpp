// libFuzzer target: the span JSON parser and its editor (src/json). The parser must agree with
// Boost.JSON (an independent strict parser) on what is JSON; an unedited document must write
// back byte for byte; and after Kong's operations on nested paths the output must still be JSON
// that both parsers accept. A parse that keeps nodes only as deep as an operation reaches must
// accept the same texts and edit them the same way. Built by tests/fuzz/run.sh.
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include "json/json_edits.hpp"

using namespace portico::json_edit;

namespace {
// Whether Boost.JSON takes the text as JSON: 1 yes, 0 no, -1 it cannot say (an exponent
// beyond what it computes, "0e8666666666666", stops it before the rest is read).
int boost_accepts(std::string_view text) {
  boost::json::parse_options options;
  options.max_depth = 1u << 20;  // no depth limit of its own in the comparison
  boost::system::error_code ec;
  boost::json::parse(text, ec, {}, options);
  if (ec == boost::json::error::exponent_overflow) return -1;
  return ec ? 0 : 1;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Document doc;
  bool ours = doc.parse(text);
  int theirs = boost_accepts(text);
  if (theirs >= 0 && ours != (theirs == 1)) __builtin_trap();
  // A parse that keeps nodes only near the root checks the rest just as strictly.
  Document shallow;
  if (shallow.parse(text, Document::kDefaultMaxValues, size % 3) != ours) __builtin_trap();
  if (!ours) return 0;
  std::string same;
  doc.write(same);
  if (same != text) __builtin_trap();
  static const Path paths[] = {parse_path("a"), parse_path("a.b"), parse_path("[*].a"), parse_path("a[*].b"),
                               parse_path("a[0]"), parse_path("b")};
  remove(doc, paths[size % 6]);
  rename(doc, paths[(size / 6) % 6], "z", size % 2 == 0);
  replace(doc, paths[(size / 3) % 6], string_value("r\"\n"));
  add(doc, paths[(size / 5) % 6], string_value("x"));
  append(doc, paths[(size / 7) % 6], string_value("y"));
  // An operation on a document parsed as deep as its path reaches gives what it gives on a
  // whole one.
  const Path& one = paths[(size / 11) % 6];
  Document full;
  full.parse(text);
  if (!shallow.parse(text, Document::kDefaultMaxValues, depth_to_keep(one))) __builtin_trap();
  switch (size % 5) {
    case 0: remove(full, one), remove(shallow, one); break;
    case 1: rename(full, one, "z", false), rename(shallow, one, "z", false); break;
    case 2: replace(full, one, string_value("r")), replace(shallow, one, string_value("r")); break;
    case 3: add(full, one, string_value("x")), add(shallow, one, string_value("x")); break;
    default: append(full, one, string_value("y")), append(shallow, one, string_value("y"));
  }
  std::string from_full, from_shallow;
  full.write(from_full);
  shallow.write(from_shallow);
  if (from_full != from_shallow) __builtin_trap();

  std::string edited;
  doc.write(edited);
  Document again;
  if (!again.parse(edited) || boost_accepts(edited) == 0) __builtin_trap();
  return 0;
}
