// libFuzzer target: Admin API bodies (forms and JSON) through the schema layer and Kong's
// error shape. Built with clang by tests/fuzz/run.sh (make test runs it for a bounded time).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "admin/body_readers.hpp"
#include "admin/kong_errors.hpp"
#include "schema/record.hpp"

namespace {

using namespace portico;

struct Sample {
  std::string name;
  int minute = 0;
  double ratio = 0.5;
  bool enabled = true;
  std::vector<std::string> names{"a"};
  std::vector<int> codes;
  std::vector<std::pair<std::string, std::string>> headers;
};

const schema::Record<Sample>& sample() {
  static const schema::Record<Sample> r = [] {
    schema::Record<Sample> rec;
    rec.field("name", &Sample::name, {.required = true, .len_min = 1})
        .field("minute", &Sample::minute, {.min = 0, .max = 100})
        .field("ratio", &Sample::ratio, {.min = 0, .max = 1})
        .field("enabled", &Sample::enabled)
        .field("names", &Sample::names, {.one_of = {"a", "b"}})
        .field("codes", &Sample::codes, {.min = 100, .max = 599})
        .field("headers", &Sample::headers);
    return rec;
  }();
  return r;
}

void exercise(const Result<boost::json::value>& body, schema::Input input) {
  if (!body.ok()) return;
  Sample s;
  schema::Errors errors;
  sample().read(body.value(), s, errors, input, "config");
  (void)admin::schema_violation(errors);
  (void)sample().write(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  exercise(admin::read_form_body(text), schema::Input::text);
  exercise(admin::read_json_body(text), schema::Input::typed);
  // The same bytes as a multipart body under a fixed boundary (the seeds carry it).
  exercise(admin::read_multipart_body("multipart/form-data; boundary=XyZ", text), schema::Input::text);
  return 0;
}
