// GraphQL documents (issue 17, section 3): what the graphql plugin does to a typical ~1 KB
// query the first time it sees it (parse, validate, measure its limits) and every later time
// (a lookup of the text in the document cache), over the web BFF example's schema.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "graphql/parser.hpp"
#include "graphql/schema.hpp"
#include "graphql/validation.hpp"
#include "plugins/graphql/document_cache.hpp"
#include "plugins/graphql/limits.hpp"

namespace {

namespace gql = portico::graphql;
namespace gp = portico::plugins::graphql;

const gql::Schema& web_schema() {
  static const std::shared_ptr<const gql::Schema> schema = [] {
    std::ifstream in(std::string(PORTICO_SOURCE_DIR) + "/examples/web-bff.graphql");
    std::ostringstream text;
    text << in.rdbuf();
    std::vector<gql::Error> errors;
    auto built = gql::Schema::build(text.str(), errors);
    if (!built) throw std::runtime_error("examples/web-bff.graphql: " + errors.at(0).message);
    return built;
  }();
  return *schema;
}

// A web page's query: variables, fragments, aliases, nested lists (about 1 KB).
const std::string kQuery = R"(query Account($id: ID!, $withActivity: Boolean = true) {
  me: user(id: $id) {
    ...Person
    orders {
      id
      status
      total { amount currency }
      items {
        quantity
        product { ...ProductCard }
      }
    }
    activity @include(if: $withActivity) { at event detail }
    notifications { id channel message read }
    recommendations { ...ProductCard }
  }
  catalogue: products { ...ProductCard stock }
}

fragment Person on User {
  id
  username
  name
  email
  plan
  createdAt
}

fragment ProductCard on Product {
  id
  sku
  name
  price { amount currency }
}
# padding the document to a typical size: clients send comments, names and whitespace too
# ......................................................................................
# ......................................................................................
# ......................................................................................
# ...........................................................
)";

void BM_GraphqlPrepareTypical1KB(benchmark::State& state) {
  const gql::Schema& schema = web_schema();
  gp::DocumentLimits limits;
  limits.max_depth = 15;
  limits.max_aliases = 30;
  limits.max_cost = 10000;
  const boost::json::object variables{{"id", "1"}};
  for (auto _ : state) {
    gql::Document document = gql::parse(kQuery);
    std::vector<gql::Error> errors = gql::validate(schema, document);
    gp::DocumentMeasure measured = gp::measure(schema, document, document.operations.front(), variables, limits);
    benchmark::DoNotOptimize(errors);
    benchmark::DoNotOptimize(measured);
  }
  state.SetLabel(std::to_string(kQuery.size()) + " bytes");
}
BENCHMARK(BM_GraphqlPrepareTypical1KB);

void BM_GraphqlCachedDocumentLookup(benchmark::State& state) {
  gp::SharedLru<gql::Document> cache(1000);
  cache.insert(kQuery, std::make_shared<gql::Document>(gql::parse(kQuery)));
  for (auto _ : state) {
    auto found = cache.find(kQuery);
    benchmark::DoNotOptimize(found);
  }
}
BENCHMARK(BM_GraphqlCachedDocumentLookup);

}  // namespace
