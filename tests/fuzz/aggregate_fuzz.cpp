// libFuzzer target: the call templates (src/plugin/calls, the aggregate and graphql plugins') (parse, render with hostile values: a
// rendered URL never holds a raw value's reserved characters) and JSON shaping (dot paths,
// JSON pointers, allow/deny/rename/reduce over arbitrary JSON). Built by tests/fuzz/run.sh.
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "plugin/calls/pointer.hpp"
#include "plugin/calls/template.hpp"
#include "plugins/aggregate/shape.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace portico::plugins::aggregate;
  using portico::plugin::calls::percent_encode;
  using portico::plugin::calls::Reference;
  using portico::plugin::calls::select;
  using portico::plugin::calls::Template;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t nl = input.find('\n');
  std::string_view first = input.substr(0, nl);
  std::string_view rest = nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);

  std::string error;
  if (auto t = Template::parse(first, error)) {
    std::string value(rest);
    auto r = t->render([&](const Reference&) { return std::optional<std::string>(value); }, Template::Encoding::url);
    if (r.missing != nullptr) __builtin_trap();
    std::string encoded = percent_encode(value);
    for (char c : encoded) {
      if (c == '/' || c == '?' || c == '#' || c == '&' || c == '\r' || c == '\n' || c == ' ') __builtin_trap();
    }
  }

  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(rest, ec);
  if (ec) return 0;
  if (auto path = FieldPath::parse(first, error)) {
    boost::json::value kept = doc;
    keep_only(kept, {*path});
    boost::json::value removed = doc;
    remove(removed, {*path});
    rename(removed, {{*path, "renamed"}});
  }
  if (auto selected = select(doc, first)) {
    (void)reduce(*selected, Reduce::count);
    (void)reduce(*selected, Reduce::first);
  }
  return 0;
}
