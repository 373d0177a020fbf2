// The graphql plugin's configuration and limits: a BFF read as written, every mistake refused
// with the field's path, and what a document is measured to cost.
#include "plugins/graphql/config.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "graphql/parser.hpp"
#include "plugins/graphql/limits.hpp"

namespace portico::plugins::graphql {
namespace {

namespace json = boost::json;
namespace gql = portico::graphql;

const char* kSdl = "type Query { user(id: ID!): User orders(first: Int): [Order!]! } "
                   "type User { id: ID! name: String createdAt: String orders: [Order!]! } "
                   "type Order { id: ID! items: [Item!]! } type Item { quantity: Int product: Product } "
                   "type Product { id: ID! name: String }";

json::object config(json::object resolvers) {
  return json::object{{"schema", kSdl}, {"resolvers", std::move(resolvers)}};
}

std::shared_ptr<const GraphqlConfig> read(const json::value& input, schema::Errors& errors) {
  return std::static_pointer_cast<const GraphqlConfig>(graphql_config_schema().read(input, errors, schema::Input::typed, "config"));
}

std::string errors_of(const json::value& input) {
  schema::Errors errors;
  EXPECT_EQ(read(input, errors), nullptr) << json::serialize(input);
  std::string out;
  for (const auto& e : errors) out += e.path + ": " + e.message + "\n";
  return out;
}

TEST(GraphqlConfig, ResolversAreReadWithTheirTemplates) {
  schema::Errors errors;
  auto c = read(config(json::parse(R"({
      "Query.user": {"service": "users", "path": "/users/{args.id}"},
      "User.createdAt": {"property": "created_at"},
      "User.orders": {"service": "orders", "path": "/orders?user_id={parent.id}", "select": "/data", "cost": 3},
      "Item.product": {"service": "products", "path": "/products/{parent.product_id}",
                       "batch": {"path": "/products?ids={parents.product_id|join:,}", "key": "id", "select": "/data"}}
    })").as_object()),
                errors);
  ASSERT_NE(c, nullptr) << (errors.empty() ? "" : errors[0].path + ": " + errors[0].message);
  ASSERT_EQ(c->resolvers.size(), 4u);
  EXPECT_EQ(c->resolvers[0].first, "Query.user");
  EXPECT_EQ(c->resolvers[0].second.target.references().at(0).text(), "{args.id}");
  EXPECT_EQ(c->resolvers[3].second.batch.parent_field, "product_id");
  EXPECT_TRUE(c->resolvers[3].second.batched());
  EXPECT_TRUE(c->built && c->built->type("Product"));
  EXPECT_EQ(c->max_depth, 15);
  EXPECT_TRUE(c->introspection);
}

TEST(GraphqlConfig, AbstractTypesAreFoundByTheirSchemaType) {
  json::object input = config({});
  input["schema"] = std::string(kSdl) + " union Thing = User | Product interface Named { name: String }";
  input["abstract_types"] = json::parse(R"({"Thing": {"property": "kind", "types": {"u": "User", "p": "Product"}},
                                           "Named": {"property": "type"}})");
  schema::Errors errors;
  auto c = read(input, errors);
  ASSERT_NE(c, nullptr) << (errors.empty() ? "" : errors[0].path + ": " + errors[0].message);
  const AbstractTypeConfig* thing = find_abstract_type(*c, *c->built->type("Thing"));
  ASSERT_NE(thing, nullptr);
  EXPECT_EQ(thing->property, "kind");
  EXPECT_EQ(thing->types.size(), 2u);
  EXPECT_EQ(find_abstract_type(*c, *c->built->type("Named"))->property, "type");
  EXPECT_EQ(find_abstract_type(*c, *c->built->type("User")), nullptr);
}

TEST(GraphqlConfig, MistakesAreRefusedWithTheFieldsPath) {
  const auto has = [](const std::string& errors, const std::string& wanted) {
    EXPECT_NE(errors.find(wanted), std::string::npos) << "no '" << wanted << "' in:\n" << errors;
  };
  has(errors_of(json::object{{"schema", "type Query { a: Int"}}), "config.schema: 1:20: Syntax Error: Expected Name, found <EOF>.");
  has(errors_of(json::object{{"schema", "type Query { a: Nope }"}}), "config.schema: 1:17: Unknown type \"Nope\".");
  has(errors_of(json::object{{"schema", "/no/such/schema.graphql"}}), "cannot read the schema file '/no/such/schema.graphql'");
  has(errors_of(config(json::parse(R"({"Query.nobody": {"service": "s"}})").as_object())),
      "config.resolvers.Query.nobody: 'Query.nobody' is not a field of the schema");
  has(errors_of(config(json::parse(R"({"Query.user": {"service": "s", "value": {"a": 1}}})").as_object())),
      "a resolver has one of: service (+ path) or url, value, property");
  has(errors_of(config(json::parse(R"({"Query.user": {"service": "s", "path": "/u/{body.id}"}})").as_object())),
      "config.resolvers.Query.user.path: unknown template source 'body' in {body.id}");
  has(errors_of(config(json::parse(R"({"Query.user": {"service": "s", "path": "/u/{parents.id}"}})").as_object())),
      "unknown template source 'parents'");
  has(errors_of(config(json::parse(R"({"Item.product": {"service": "s", "batch": {"path": "/p?ids={parents.id|join:,}"}}})").as_object())),
      "config.resolvers.Item.product.batch.key: a batch needs the key");
  has(errors_of(config(json::parse(R"({"Item.product": {"service": "s", "batch": {"path": "/p", "key": "id"}}})").as_object())),
      "a batch names its parents' key once");
  has(errors_of(config(json::parse(R"({"Query.user": {"url": "https://users/{args.id}"}})").as_object())),
      "https:// URLs are not supported yet");
  has(errors_of(config(json::parse(R"({"Query.user": {"service": "s", "select": "data"}})").as_object())), "not a JSON pointer");
  has(errors_of(json::object{{"schema", kSdl}, {"max_depth", 0}}), "config.max_depth");
}

gql::Document parsed(const char* query) { return gql::parse(query); }

TEST(GraphqlLimits, DepthAliasesCostAndIntrospectionAreMeasured) {
  schema::Errors errors;
  auto c = read(config(json::object{}), errors);
  ASSERT_NE(c, nullptr);
  DocumentLimits limits;
  limits.max_depth = 3;
  limits.max_aliases = 1;
  limits.max_cost = 100;
  limits.list_size = 10;
  limits.introspection = false;
  const json::object no_variables;
  const auto measured = [&](const char* query, const json::object& variables) {
    const gql::Document d = parsed(query);
    return measure(*c->built, d, d.operations.front(), variables, limits);
  };
  // orders (1) + 10 orders x (items (1) + 10 items x product (1)) = 111
  DocumentMeasure m = measured("{ orders { items { product { name } } } }", no_variables);
  EXPECT_EQ(m.depth, 4);
  EXPECT_EQ(m.cost, 111);
  EXPECT_EQ(*refusal(m, limits), "The query is 4 levels deep, more than the maximum of 3.");
  m = measured("query($n: Int) { orders(first: $n) { id } }", json::object{{"n", 500}});
  EXPECT_EQ(m.cost, 1);  // the list holds ids: scalars cost nothing
  m = measured("{ a: user(id: 1) { id } b: user(id: 2) { id } }", no_variables);
  EXPECT_EQ(m.aliases, 2);
  EXPECT_EQ(*refusal(m, limits), "The query uses 2 aliases, more than the maximum of 1.");
  m = measured("{ __schema { types { name } } }", no_variables);
  EXPECT_TRUE(m.introspects);
  EXPECT_NE(refusal(m, limits)->find("introspection is not allowed"), std::string::npos);
  m = measured("{ __typename user(id: 1) { name } }", no_variables);
  EXPECT_FALSE(refusal(m, limits));
}

}  // namespace
}  // namespace portico::plugins::graphql
