#include "plugins/jwt/strict_json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <cmath>
#include <string>
#include <vector>

namespace portico::plugins::jwt {
namespace {

// A basic_parser handler that builds the value (as boost::json::parser does, through a
// value_stack) and refuses a member name already seen in the same object.
struct StrictHandler {
  static constexpr std::size_t max_object_size = 1000;
  static constexpr std::size_t max_array_size = 10000;
  static constexpr std::size_t max_key_size = 1000;
  static constexpr std::size_t max_string_size = 100000;

  // (a constructor, not aggregate initialisation in parentheses, which clang 14 lacks: the
  // fuzzing build uses it)
  StrictHandler(boost::json::value_stack& stack, std::vector<std::string>& open_names, std::vector<std::size_t>& open_starts)
      : st(stack), names(open_names), starts(open_starts) {}

  boost::json::value_stack& st;
  // Names of the open objects' members, innermost last; `starts` marks where each open
  // object's names begin. Per-thread and reused (see parse_strict_object).
  std::vector<std::string>& names;
  std::vector<std::size_t>& starts;
  std::size_t used = 0;  // names[0, used) are live
  std::string key;       // a name split across on_key_part calls
  bool duplicate = false;
  bool out_of_range = false;

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    starts.push_back(used);
    return true;
  }
  bool on_object_end(std::size_t n, boost::system::error_code&) {
    used = starts.back();
    starts.pop_back();
    st.push_object(n);
    return true;
  }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t n, boost::system::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(std::string_view s, std::size_t, boost::system::error_code&) {
    key.append(s);
    st.push_chars(s);
    return true;
  }
  bool on_key(std::string_view s, std::size_t, boost::system::error_code& ec) {
    std::string_view full = s;
    if (!key.empty()) full = key.append(s);
    for (std::size_t i = starts.back(); i < used; ++i) {
      if (names[i] == full) {
        duplicate = true;
        ec = boost::json::error::syntax;  // stops the parser
        return false;
      }
    }
    if (used == names.size()) names.emplace_back();
    names[used++].assign(full);  // reuses the string's capacity
    key.clear();
    st.push_key(s);
    return true;
  }
  bool on_string_part(std::string_view s, std::size_t, boost::system::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(std::string_view s, std::size_t, boost::system::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t i, std::string_view, boost::system::error_code&) {
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, std::string_view, boost::system::error_code&) {
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, std::string_view, boost::system::error_code& ec) {
    // A number beyond a double's range (1e400) would read as infinity: an "exp" that never
    // comes. Refused, as I-JSON (RFC 7493 2.2) wants (found by tests/fuzz/jwt_token_fuzz).
    if (!std::isfinite(d)) {
      out_of_range = true;
      ec = boost::json::error::exponent_overflow;
      return false;
    }
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, boost::system::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(boost::system::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_comment(std::string_view, boost::system::error_code&) { return true; }
};

}  // namespace

bool parse_strict_object(std::string_view text, boost::json::object& out, std::string& error,
                         boost::json::storage_ptr storage) {
  boost::json::parse_options strict;  // defaults: RFC 8259, UTF-8 validated, depth 32
  // Per-thread scratch: a steady state of tokens allocates nothing here.
  thread_local std::vector<std::string> names;
  thread_local std::vector<std::size_t> starts;
  thread_local boost::json::value_stack stack;
  starts.clear();
  stack.reset(storage);
  boost::json::basic_parser<StrictHandler> parser(strict, stack, names, starts);
  boost::system::error_code ec;
  std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (parser.handler().duplicate) {
    error = "duplicate member name";
    return false;
  }
  if (parser.handler().out_of_range) {
    error = "number out of range";
    return false;
  }
  if (ec || used != text.size() || !parser.done()) {
    error = "invalid JSON";
    return false;
  }
  boost::json::value v = stack.release();
  if (!v.is_object()) {
    error = "not a JSON object";
    return false;
  }
  out = std::move(v.as_object());  // same storage: no copy
  return true;
}

}  // namespace portico::plugins::jwt
