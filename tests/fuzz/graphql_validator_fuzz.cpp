// libFuzzer target: GraphQL validation and execution (src/graphql) of any document against a
// schema with every kind of type (interfaces, unions, enums, input objects, @oneOf, custom
// scalars, nested lists and non-nulls). A document that parses is validated; a valid one is
// executed over fixed data with variables taken from the input's tail. Nothing may crash or
// leak, every error of a valid document's execution must carry a location, and the answer must
// write as JSON. Built by tests/fuzz/run.sh.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "graphql/executor.hpp"
#include "graphql/parser.hpp"
#include "graphql/text.hpp"
#include "graphql/validation.hpp"

using namespace portico::graphql;

namespace {

constexpr const char* kSchema = R"(
schema { query: Query mutation: Mutation }
scalar DateTime @specifiedBy(url: "https://tools.ietf.org/html/rfc3339")
enum Episode { NEWHOPE EMPIRE JEDI PHANTOM @deprecated }
interface Node { id: ID! }
interface Character implements Node { id: ID! name: String friends: [Character] appearsIn: [Episode!] }
type Human implements Character & Node { id: ID! name: String friends: [Character] appearsIn: [Episode!] height(unit: Unit = METER): Float mass: Int }
type Droid implements Character & Node { id: ID! name: String friends: [Character] appearsIn: [Episode!] primaryFunction: String }
type Starship implements Node { id: ID! name: String! length: Float coordinates: [[Float!]!] }
union SearchResult = Human | Droid | Starship
enum Unit { METER FOOT }
input ReviewInput { stars: Int! commentary: String tags: [String!] = [] when: DateTime }
input Lookup @oneOf { id: ID name: String }
type Review { episode: Episode stars: Int! commentary: String }
type Query {
  hero(episode: Episode = NEWHOPE): Character
  human(id: ID!): Human
  droid(id: ID!): Droid
  find(by: Lookup!): Character
  search(text: String!, first: Int = 10): [SearchResult!]!
  node(id: ID!): Node
  reviews(episode: Episode!): [Review]
  now: DateTime
}
type Mutation { createReview(episode: Episode, review: ReviewInput!): Review }
)";

constexpr const char* kData = R"({
  "hero": {"__typename": "Droid", "id": "2001", "name": "R2-D2", "appearsIn": ["NEWHOPE", "EMPIRE", "JEDI"],
           "primaryFunction": "Astromech",
           "friends": [{"__typename": "Human", "id": "1000", "name": "Luke", "height": 1.72, "mass": 77},
                       {"__typename": "Human", "id": "1002", "name": null}, null]},
  "human": {"id": "1000", "name": "Luke", "height": "1.72", "mass": 77.5, "appearsIn": ["NEWHOPE", null]},
  "droid": {"id": 2000, "name": "C-3PO", "friends": "nobody"},
  "find": {"__typename": "Starship", "id": "3000"},
  "search": [{"__typename": "Starship", "id": "3000", "name": "Falcon", "coordinates": [[1, 2], [3.5, null]]},
             {"__typename": "Wookiee"}, {"id": "x"}],
  "node": {"__typename": "Human", "id": null},
  "reviews": [{"stars": 5, "episode": "JEDI"}, {"stars": "many"}],
  "now": {"iso": "2026-12-04T00:00:00Z"},
  "createReview": {"stars": 4, "commentary": "Great"}
})";

const Schema& schema() {
  static const std::shared_ptr<const Schema> built = [] {
    std::vector<Error> errors;
    auto s = Schema::build(kSchema, errors);
    if (!s) std::abort();
    return s;
  }();
  return *built;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  // An optional tail after a NUL byte holds the variables, as JSON.
  boost::json::object variables;
  if (const std::size_t nul = text.find('\0'); nul != std::string::npos) {
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(std::string_view(text).substr(nul + 1), ec);
    if (!ec && parsed.is_object()) variables = parsed.as_object();
    text.resize(nul);
  }
  Document document;
  try {
    ParseOptions options;
    options.max_tokens = 2000;
    document = parse(text, options);
  } catch (const SyntaxError&) {
    return 0;
  }
  const std::vector<Error> errors = validate(schema(), document);
  for (const Error& e : errors) {
    if (e.message.empty()) std::abort();
  }
  if (!errors.empty()) return 0;
  static const boost::json::value root = boost::json::parse(kData);
  ExecutionRequest request;
  request.schema = &schema();
  request.document = &document;
  request.variables = &variables;
  request.root_value = &root;
  if (document.operations.size() > 1) request.operation_name = document.operations.back().name;
  boost::asio::io_context io;
  ExecutionResult result;
  boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> { result = co_await execute(request); }, boost::asio::detached);
  io.run();
  for (const Error& e : result.errors) {
    if (e.message.empty()) std::abort();
  }
  const std::string answer = to_json_text(result.to_json());
  boost::system::error_code ec;
  (void)boost::json::parse(answer, ec);
  if (ec) std::abort();
  return 0;
}
