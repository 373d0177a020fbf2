#include "plugins/jwt/strict_json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <string>
#include <vector>

namespace portico::plugins::jwt {
namespace {

// A basic_parser handler that only checks member names: one set of names per open object.
struct DuplicateCheck {
  static constexpr std::size_t max_object_size = 1000;
  static constexpr std::size_t max_array_size = 10000;
  static constexpr std::size_t max_key_size = 1000;
  static constexpr std::size_t max_string_size = 100000;

  std::vector<std::vector<std::string>> open;  // keys of each open object
  std::string key;
  bool duplicate = false;

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    open.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    open.pop_back();
    return true;
  }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t, boost::system::error_code&) { return true; }
  bool on_key_part(std::string_view s, std::size_t, boost::system::error_code&) {
    key.append(s);
    return true;
  }
  bool on_key(std::string_view s, std::size_t, boost::system::error_code& ec) {
    key.append(s);
    auto& names = open.back();
    for (const auto& n : names) {
      if (n == key) {
        duplicate = true;
        ec = boost::json::error::syntax;  // stop parsing
        return false;
      }
    }
    names.push_back(std::move(key));
    key.clear();
    return true;
  }
  bool on_string_part(std::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_string(std::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_number_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, std::string_view, boost::system::error_code&) { return true; }
  bool on_uint64(std::uint64_t, std::string_view, boost::system::error_code&) { return true; }
  bool on_double(double, std::string_view, boost::system::error_code&) { return true; }
  bool on_bool(bool, boost::system::error_code&) { return true; }
  bool on_null(boost::system::error_code&) { return true; }
  bool on_comment_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_comment(std::string_view, boost::system::error_code&) { return true; }
};

}  // namespace

bool parse_strict_object(std::string_view text, boost::json::object& out, std::string& error) {
  boost::json::parse_options strict;  // defaults: RFC 8259, UTF-8 validated, depth 32
  boost::json::basic_parser<DuplicateCheck> checker(strict);
  boost::system::error_code ec;
  std::size_t used = checker.write_some(false, text.data(), text.size(), ec);
  if (checker.handler().duplicate) {
    error = "duplicate member name";
    return false;
  }
  if (ec || used != text.size() || !checker.done()) {
    error = "invalid JSON";
    return false;
  }
  boost::json::value v = boost::json::parse(text, ec, {}, strict);
  if (ec || !v.is_object()) {
    error = ec ? "invalid JSON" : "not a JSON object";
    return false;
  }
  out = std::move(v.as_object());
  return true;
}

}  // namespace portico::plugins::jwt
