// libFuzzer target: the JWS compact-form decoder (what the jwt and openid-connect plugins read
// from Authorization headers, cookies and query strings) and its strict JSON reader. Beyond "no
// crash, no sanitizer report":
//   - strict JSON that parses prints as JSON that parses again to the same object (the reader
//     and the writer agree on every value it lets through; doubles to 1e-12, Boost.JSON's
//     number parsing being not correctly rounded);
//   - a token that decodes has three segments, and its signing input is the first two as sent.
// The first input byte picks the reader. Built by tests/fuzz/run.sh.
#include <boost/json/serialize.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "plugins/jwt/jws.hpp"
#include "plugins/jwt/strict_json.hpp"
#include "tests/fuzz/json_close.hpp"

namespace {

using namespace portico::plugins::jwt;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void strict_json(std::string_view input) {
  boost::json::object first;
  std::string error;
  if (!parse_strict_object(input, first, error)) {
    check(!error.empty());
    return;
  }
  std::string printed = boost::json::serialize(first);
  boost::json::object second;
  check(parse_strict_object(printed, second, error));
  check(portico::fuzz::json_close(first, second));
}

void token(std::string_view input) {
  Token decoded;
  std::string error;
  if (!decode_token(input, decoded, error)) {
    check(!error.empty());
    return;
  }
  std::size_t first_dot = input.find('.');
  std::size_t last_dot = input.rfind('.');
  check(first_dot != std::string_view::npos && last_dot != first_dot);
  check(input.find('.', first_dot + 1) == last_dot);  // exactly three segments
  check(decoded.signing_input == input.substr(0, last_dot));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) token(input);
  else strict_json(input);
  return 0;
}
