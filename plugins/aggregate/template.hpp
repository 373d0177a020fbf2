// Templates of the aggregate plugin's backend calls (issue 12): "/users/{query.user_id}",
// parsed once when the configuration is loaded, rendered per request.
//
// A reference is `{source.name}`: query, path (a named capture of the route's regex path),
// header, jwt (a claim of the verified token), consumer (id, username), or the name of an
// earlier backend (`{user.team_id}`: a dot path into its body, with depends_on). `{{` and `}}`
// are literal braces. A value substituted into a URL is percent-encoded, so no value can add a
// path segment, a query argument, a fragment or a line break; a missing value is an error
// naming the reference, never an empty string sent upstream.
#pragma once

#include "http/params.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::plugins::aggregate {

struct Reference {
  std::string source;  // "query", "path", "header", "jwt", "consumer" or a backend's name
  std::string name;    // "user_id", "X-Client", "sub", "team_id", "address.city"
  std::string text() const { return "{" + source + "." + name + "}"; }
};

class Template {
 public:
  // Parses `text`; nullopt with `error` set when it is malformed ("unclosed '{'"...).
  static std::optional<Template> parse(std::string_view text, std::string& error);

  const std::vector<Reference>& references() const { return references_; }
  bool empty() const { return pieces_.empty(); }

  // A reference's value, or nullopt when the request has none.
  using Lookup = std::function<std::optional<std::string>(const Reference&)>;
  // url: percent-encoded (paths, queries); json_string: escaped for the inside of a JSON
  // string (bodies: `{"name": "{body.name}"}`), so no value can end the string.
  enum class Encoding { url, json_string };
  struct Result {
    std::string text;
    const Reference* missing = nullptr;  // set when a value was missing (text is then partial)
  };
  Result render(const Lookup& lookup, Encoding encoding) const;

 private:
  struct Piece {
    std::string literal;
    int reference = -1;  // index into references_, or -1 for a literal
  };
  std::vector<Piece> pieces_;
  std::vector<Reference> references_;
};

// Percent-encodes every byte but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~).
inline std::string percent_encode(std::string_view value) { return http::percent_encode(value); }

}  // namespace portico::plugins::aggregate
