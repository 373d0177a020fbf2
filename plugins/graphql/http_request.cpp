#include "plugins/graphql/http_request.hpp"

#include <boost/json.hpp>

#include <cctype>

#include "http/params.hpp"

namespace portico::plugins::graphql {
namespace {

namespace json = boost::json;

ParsedRequest refuse(std::string message, int status = 400) {
  ParsedRequest out;
  out.error = std::move(message);
  out.status = status;
  return out;
}

// The media type of a Content-Type, lower case, without parameters.
std::string media_type(std::string_view content_type) {
  std::string out(content_type.substr(0, content_type.find(';')));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  while (!out.empty() && (out.front() == ' ' || out.front() == '\t')) out.erase(out.begin());
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// extensions.persistedQuery: {"version": 1, "sha256Hash": "..."}.
std::optional<std::string> read_extensions(const json::value& extensions, std::string& error) {
  if (extensions.is_null()) return std::nullopt;
  if (!extensions.is_object()) {
    error = "'extensions' must be an object";
    return std::nullopt;
  }
  const json::value* persisted = extensions.as_object().if_contains("persistedQuery");
  if (!persisted || persisted->is_null()) return std::nullopt;
  const json::value* hash = persisted->is_object() ? persisted->as_object().if_contains("sha256Hash") : nullptr;
  if (!hash || !hash->is_string()) {
    error = "'extensions.persistedQuery' must hold a 'sha256Hash' string";
    return std::nullopt;
  }
  const json::value* version = persisted->as_object().if_contains("version");
  if (version && !(version->is_int64() && version->get_int64() == 1)) {
    error = "only version 1 of persisted queries is supported";
    return std::nullopt;
  }
  std::string text(hash->get_string());
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The request from its parts as JSON values (a POST body's members, or a GET's decoded
// arguments parsed where they hold JSON).
ParsedRequest from_parts(const json::value* query, const json::value* variables, const json::value* operation_name,
                         const json::value* extensions) {
  GraphqlRequest request;
  if (query && !query->is_null()) {
    if (!query->is_string()) return refuse("'query' must be a string");
    request.query = std::string(query->get_string());
  }
  if (variables && !variables->is_null()) {
    if (!variables->is_object()) return refuse("'variables' must be an object");
    request.variables = variables->get_object();
  }
  if (operation_name && !operation_name->is_null()) {
    if (!operation_name->is_string()) return refuse("'operationName' must be a string");
    request.operation_name = std::string(operation_name->get_string());
  }
  if (extensions) {
    std::string error;
    request.persisted_hash = read_extensions(*extensions, error);
    if (!error.empty()) return refuse(error);
  }
  if (!request.query && !request.persisted_hash) return refuse("a GraphQL request needs a 'query'");
  ParsedRequest out;
  out.request = std::move(request);
  return out;
}

}  // namespace

ParsedRequest parse_get(std::string_view query_string) {
  std::optional<std::string> query, variables, operation_name, extensions;
  bool malformed = false;
  http::for_each_query_arg(query_string, [&](std::string_view key, std::string_view raw) {
    std::optional<std::string>* slot = key == "query"           ? &query
                                       : key == "variables"     ? &variables
                                       : key == "operationName" ? &operation_name
                                       : key == "extensions"    ? &extensions
                                                                : nullptr;
    if (!slot || *slot) return;  // the first of a name counts
    std::string decoded;
    if (!http::percent_decode(raw, decoded)) malformed = true;
    *slot = std::move(decoded);
  });
  if (malformed) return refuse("the query string has a malformed %-escape");
  json::value query_json = query ? json::value(*query) : json::value();
  json::value name_json = operation_name && !operation_name->empty() ? json::value(*operation_name) : json::value();
  json::value variables_json, extensions_json;
  boost::system::error_code ec;
  if (variables && !variables->empty()) {
    variables_json = json::parse(*variables, ec);
    if (ec) return refuse("'variables' is not JSON");
  }
  if (extensions && !extensions->empty()) {
    extensions_json = json::parse(*extensions, ec);
    if (ec) return refuse("'extensions' is not JSON");
  }
  return from_parts(&query_json, &variables_json, &name_json, &extensions_json);
}

ParsedRequest parse_post(std::string_view content_type, std::string_view body) {
  const std::string type = media_type(content_type);
  if (type == "application/graphql") {
    json::value query(body);
    return from_parts(&query, nullptr, nullptr, nullptr);
  }
  if (type != "application/json" && type != "application/graphql+json" && !type.empty()) {
    return refuse("a GraphQL POST body is application/json (or application/graphql), not " + type, 415);
  }
  boost::system::error_code ec;
  json::value parsed = json::parse(body, ec);
  if (ec) return refuse("the body is not JSON");
  if (!parsed.is_object()) return refuse("the body must be a JSON object");
  const json::object& o = parsed.get_object();
  return from_parts(o.if_contains("query"), o.if_contains("variables"), o.if_contains("operationName"),
                    o.if_contains("extensions"));
}

}  // namespace portico::plugins::graphql
