// How GraphQL messages and answers write values (issue 17), as graphql-js 16 does, so the
// text a client reads matches the reference implementation's.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "graphql/ast.hpp"

namespace portico::graphql {

// A number as JavaScript writes it (Number.prototype.toString): 2 for 2.0, 0.1, 1e+21, 1.5e-7.
std::string js_number(double value);

// A JSON value as graphql-js's inspect() writes it in messages: strings quoted, objects as
// `{ a: 1 }`, nesting past two levels as [Object] / [Array], lists past ten items cut.
std::string inspect(const boost::json::value& value);

// A string as JSON.stringify writes it.
std::string json_quote(std::string_view text);
void append_json_string(std::string& out, std::string_view text);

// A value literal as graphql-js's printer writes it: `{a: [1, "x"], b: ENUM}`, `$var`.
std::string print_value(const Value& value);

// A string as a GraphQL string literal (graphql-js's printString): "a\"b\u0001".
std::string print_string_literal(std::string_view text);

// The options close to `input` (graphql-js's suggestionList: Damerau-Levenshtein distance
// within 40% of the input's length, a change of case alone counting as one edit), closest first.
std::vector<std::string> suggestion_list(std::string_view input, const std::vector<std::string_view>& options);

// graphql-js's naturalCompare: <0, 0, >0; runs of digits compare as numbers ("a2" < "a10").
int natural_compare(std::string_view a, std::string_view b);

// " Did you mean \"a\", \"b\", or \"c\"?" (at most five), or "" when there is nothing to suggest.
std::string did_you_mean(const std::vector<std::string>& suggestions, std::string_view sub_message = {});

// Writes a response (or any JSON) as graphql-js's JSON.stringify would: numbers as JavaScript
// writes them, no space, object members in their order.
void write_json(const boost::json::value& value, std::string& out);
std::string to_json_text(const boost::json::value& value);

}  // namespace portico::graphql
