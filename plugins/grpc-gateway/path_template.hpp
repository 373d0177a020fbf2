// google.api.http path templates (google/api/http.proto): parsing and matching.
//
//   Template  = "/" Segments [ ":" Verb ]
//   Segment   = "*" | "**" | LITERAL | "{" FieldPath [ "=" Segments ] "}"
//
// `{id}` binds one segment, `{name=shelves/*}` binds the segments it spans ("shelves/7", the
// literal prefix included), `**` (only last) any number of segments. Values of one-segment
// variables are fully percent-decoded; multi-segment values keep "/" and "%2F" as sent.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::grpc_gateway {

class PathTemplate {
 public:
  struct Variable {
    std::string field_path;  // "name" or "book.id"
    std::size_t first = 0;   // the segments it binds: [first, last)
    std::size_t last = 0;    // with a trailing "**": the path's end
    bool to_end = false;
  };
  using Captures = std::vector<std::pair<std::string_view, std::string>>;  // field path, value

  // A path's segments (after its leading "/"), as sent: split once, matched against many.
  using Segments = std::vector<std::string_view>;
  static Segments split(std::string_view path);

  // Parses `text`; on a syntax error returns false with `error` saying where.
  bool parse(std::string_view text, std::string& error);
  // Whether `path` (no query; percent-encoding as the client sent it) matches; fills the
  // variables' values (the field paths point into this template).
  bool match(std::string_view path, Captures& captures) const;
  bool match(std::span<const std::string_view> segments, Captures& captures) const;

  const std::vector<Variable>& variables() const { return variables_; }
  const std::string& text() const { return text_; }

 private:
  enum class Kind { literal, one, any };  // "abc", "*", "**"
  struct Segment {
    Kind kind;
    std::string literal;
  };
  std::string text_;
  std::vector<Segment> segments_;
  std::vector<Variable> variables_;
  std::string verb_;
};

// Percent-decodes `in`; "%2F" stays encoded when `keep_slash` (a multi-segment value).
// False on a malformed escape.
bool percent_decode(std::string_view in, std::string& out, bool keep_slash = false);

}  // namespace portico::grpc_gateway
