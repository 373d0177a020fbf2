// Portico's side of the GraphQL differential test (tests/graphql/README.md): runs each case of
// the given case files through Portico's engine (schema, parser, validator, executor with the
// default resolvers over the case's rootValue) and prints the results in oracle.js's format.
//
//   graphql_case_runner cases/a.json [cases/b.json ...] > results.json
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "graphql/executor.hpp"
#include "graphql/parser.hpp"
#include "graphql/schema.hpp"
#include "graphql/text.hpp"
#include "graphql/validation.hpp"

namespace gql = portico::graphql;
namespace json = boost::json;

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

json::array errors_json(const std::vector<gql::Error>& errors) {
  json::array out;
  for (const gql::Error& e : errors) out.push_back(gql::to_json(e));
  return out;
}

struct BuiltSchema {
  std::shared_ptr<const gql::Schema> schema;
  std::vector<gql::Error> errors;
};

json::value run_case(const json::object& c, const std::filesystem::path& case_dir, std::map<std::string, BuiltSchema>& schemas) {
  std::string sdl;
  if (const auto* text = c.if_contains("schema")) {
    sdl = std::string(text->as_string());
  } else {
    sdl = read_file(case_dir / ".." / "schemas" / std::string(c.at("schema_file").as_string()));
  }
  auto it = schemas.find(sdl);
  if (it == schemas.end()) {
    BuiltSchema built;
    built.schema = gql::Schema::build(sdl, built.errors);
    it = schemas.emplace(sdl, std::move(built)).first;
  }
  if (!it->second.schema) {
    json::array messages;
    for (const gql::Error& e : it->second.errors) messages.emplace_back(e.message);
    return json::object{{"schema_errors", std::move(messages)}};
  }
  const gql::Schema& schema = *it->second.schema;

  gql::Document document;
  try {
    document = gql::parse(std::string(c.at("query").as_string()));
  } catch (const gql::SyntaxError& e) {
    gql::Document text;
    text.source = std::make_shared<const std::string>(std::string(c.at("query").as_string()));
    return json::object{{"errors", errors_json({gql::document_error(text, "Syntax Error: " + std::string(e.what()), {e.offset()})})}};
  }
  std::vector<gql::Error> invalid = gql::validate(schema, document);
  if (!invalid.empty()) return json::object{{"errors", errors_json(invalid)}};

  static const json::object kNone;
  const json::object* variables = &kNone;
  if (const auto* v = c.if_contains("variables"); v && v->is_object()) variables = &v->get_object();
  std::optional<std::string> operation_name;
  if (const auto* n = c.if_contains("operationName"); n && n->is_string()) operation_name = std::string(n->get_string());
  std::optional<std::string_view> operation_view;
  if (operation_name) operation_view = *operation_name;
  static const json::value kNull;
  const json::value* root = c.if_contains("rootValue") ? c.if_contains("rootValue") : &kNull;

  gql::ExecutionRequest request;
  request.schema = &schema;
  request.document = &document;
  request.operation_name = operation_view;
  request.variables = variables;
  request.root_value = root;
  boost::asio::io_context io;
  gql::ExecutionResult result;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { result = co_await gql::execute(request); }, boost::asio::detached);
  io.run();
  return result.to_json();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: graphql_case_runner cases.json [...]\n";
    return 2;
  }
  std::map<std::string, BuiltSchema> schemas;
  json::array results;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path path(argv[i]);
    const json::value cases = json::parse(read_file(path));
    for (const json::value& c : cases.as_array()) {
      const json::object& object = c.as_object();
      results.push_back(json::object{{"name", object.at("name")}, {"result", run_case(object, path.parent_path(), schemas)}});
    }
  }
  std::cout << gql::to_json_text(results) << "\n";
  return 0;
}
