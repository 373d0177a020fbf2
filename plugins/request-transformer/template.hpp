// Kong's template values in request-transformer entries: text with $(...) expressions that
// read the request. Kong evaluates Lua there; Portico reads the expressions Kong's
// documentation uses, and refuses the rest at load (naming the entry):
//
//   $(headers.x_api_key)  $(headers["X-Api-Key"])    request headers (case-insensitive, _ as -)
//   $(query_params.page)  $(query_params["page"])     query arguments (percent-decoded)
//   $(uri_captures.user)  $(uri_captures[1])  $(uri_captures["user"])  the route regex's groups
//   $(consumer.id)  $(consumer.username)  $(consumer.custom_id)          Portico's: who called
//   $(query_params.v or "1")                          `or`: the first that is there
//   $('$(literal)')                                   a quoted string is itself
//
// A value that is not there renders as nothing (Kong's tostring(nil or '')). Several values
// of a header or argument render joined with ", ".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::plugin {
class RequestContext;
}

namespace portico::plugins::request_transformer {

class Template {
 public:
  // Parses `text`; nullopt with `error` set when an expression is not one Portico reads.
  static std::optional<Template> parse(std::string_view text, std::string& error);
  bool is_literal() const { return expressions_.empty(); }
  // The text with every expression's value, appended to `out`.
  void render(const plugin::RequestContext& ctx, std::string& out) const;
  std::string render(const plugin::RequestContext& ctx) const {
    std::string out;
    render(ctx, out);
    return out;
  }

 private:
  enum class Source { literal, header, query, capture, consumer };
  struct Operand {
    Source source = Source::literal;
    std::string key;  // the header, argument, group or consumer field; the literal's text
  };
  struct Expression {
    std::vector<Operand> alternatives;  // a `or` b `or` ...
  };
  struct Piece {
    std::string literal;
    int expression = -1;  // index into expressions_, or -1
  };
  static bool parse_expression(std::string_view text, Expression& out, std::string& error);
  std::vector<Piece> pieces_;
  std::vector<Expression> expressions_;
};

}  // namespace portico::plugins::request_transformer
