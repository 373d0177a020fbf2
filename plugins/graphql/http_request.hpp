// A GraphQL request as it arrives over HTTP (issue 17; the GraphQL-over-HTTP specification):
// GET with `query`, `variables`, `operationName` and `extensions` in the query string, or POST
// with an application/json body ({"query", "variables", "operationName", "extensions"}) or an
// application/graphql body (the document itself). Automatic persisted queries (Apollo's APQ)
// send `extensions.persistedQuery.sha256Hash`, with or without the query.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace portico::plugins::graphql {

struct GraphqlRequest {
  std::optional<std::string> query;
  boost::json::object variables;
  std::optional<std::string> operation_name;
  std::optional<std::string> persisted_hash;  // extensions.persistedQuery.sha256Hash (lower case hex)
};

// The request, or the message saying what is wrong with it (the client gets it as a 400).
struct ParsedRequest {
  std::optional<GraphqlRequest> request;
  std::string error;
  int status = 400;  // 400, or 415 for a body type GraphQL does not use
};

// From a GET's query string (raw, without '?').
ParsedRequest parse_get(std::string_view query_string);
// From a POST's Content-Type and body.
ParsedRequest parse_post(std::string_view content_type, std::string_view body);

}  // namespace portico::plugins::graphql
