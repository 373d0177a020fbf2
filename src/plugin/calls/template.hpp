// Templates of the calls plugins make to services (issue 12's aggregate backends, issue 17's
// graphql resolvers): "/users/{query.user_id}", parsed once when the configuration is loaded,
// rendered per request.
//
// A reference is `{source.name}`; which sources exist is the plugin's to say (query, path,
// header, jwt, consumer for the client's request; an earlier backend's name, `args`, `parent`,
// `parents`...). `{source.name|join:SEP}` renders a list of values joined by SEP, written as
// it is (`ids={parents.user_id|join:,}` -> `ids=3,5,8`), each value encoded on its own. `{{`
// and `}}` are literal braces. A value substituted into a URL is percent-encoded, so no value
// can add a path segment, a query argument, a fragment or a line break; a missing value is an
// error naming the reference, never an empty string sent upstream.
#pragma once

#include "http/params.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::plugin::calls {

struct Reference {
  std::string source;  // "query", "path", "header", "jwt", "consumer", a backend's name, "args"...
  std::string name;    // "user_id", "X-Client", "sub", "team_id", "address.city"
  std::optional<std::string> join;  // `|join:SEP`: the value is a list, written joined by SEP
  std::string text() const { return "{" + source + "." + name + (join ? "|join:" + *join : "") + "}"; }
};

// A list value for a lookup to return (for `{x.y|join:,}` and list sources): the items,
// separated by kItemSeparator, each encoded on its own when rendered.
constexpr char kItemSeparator = '\x1f';
template <typename It>
std::string join_items(It begin, It end) {
  std::string out;
  for (It it = begin; it != end; ++it) {
    if (it != begin) out += kItemSeparator;
    out += *it;
  }
  return out;
}

class Template {
 public:
  // Parses `text`; nullopt with `error` set when it is malformed ("unclosed '{'"...).
  static std::optional<Template> parse(std::string_view text, std::string& error);

  const std::vector<Reference>& references() const { return references_; }
  bool empty() const { return pieces_.empty(); }

  // A reference's value, or nullopt when the request has none.
  using Lookup = std::function<std::optional<std::string>(const Reference&)>;
  // url: percent-encoded (paths, queries); json_string: escaped for the inside of a JSON
  // string (bodies: `{"name": "{body.name}"}`), so no value can end the string; plain: as
  // it is (a value the plugin builds itself, never sent as text).
  enum class Encoding { url, json_string, plain };
  struct Result {
    std::string text;
    const Reference* missing = nullptr;  // set when a value was missing (text is then partial)
  };
  Result render(const Lookup& lookup, Encoding encoding) const;

 private:
  static void append_encoded(std::string& out, std::string_view value, Encoding encoding);
  struct Piece {
    std::string literal;
    int reference = -1;  // index into references_, or -1 for a literal
  };
  std::vector<Piece> pieces_;
  std::vector<Reference> references_;
};

// Percent-encodes every byte but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~).
inline std::string percent_encode(std::string_view value) { return http::percent_encode(value); }

}  // namespace portico::plugin::calls
