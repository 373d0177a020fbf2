// The executor's contract with resolvers (what the differential test against graphql-js, which
// uses only default resolvers, cannot show): one batch per level, mutations one root field at a
// time, resolver errors placed and propagated like any field error, and an answer that does
// not depend on the order in which resolvers finish.
#include "graphql/executor.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "graphql/parser.hpp"
#include "graphql/text.hpp"
#include "graphql/validation.hpp"

namespace portico::graphql {
namespace {

constexpr const char* kSchema = R"(
type Query { orders: [Order!]! user(id: ID!): User }
type Mutation { first: Int second: Int }
type Order { id: ID! product: Product total: Float }
type Product { id: ID! name: String! }
type User { id: ID! name: String }
)";

// Resolves Query.orders, Order.product, Query.user and the mutations from fixed data,
// recording each batch (its fields as "Type.field") and finishing them in reverse order.
class RecordingResolvers : public Resolvers {
 public:
  std::vector<std::vector<std::string>> batches;
  bool fail_products = false;

  bool resolves(const Type& parent, const Field& field) const override {
    const std::string name = parent.name + "." + field.name;
    return name == "Query.orders" || name == "Order.product" || name == "Query.user" || parent.name == "Mutation";
  }

  boost::asio::awaitable<void> resolve(std::span<FieldCall*> calls) override {
    std::vector<std::string> batch;
    for (auto it = calls.rbegin(); it != calls.rend(); ++it) {
      FieldCall& call = **it;
      batch.push_back(call.parent_type->name + "." + call.field->name);
      if (call.field->name == "orders") {
        call.result = boost::json::parse(R"([{"id": "o1", "product_id": "p1", "total": 2.5},
                                              {"id": "o2", "product_id": "p2"}, {"id": "o3", "product_id": "p9"}])");
      } else if (call.field->name == "product") {
        const std::string id(call.parent->at("product_id").as_string());
        if (fail_products && id == "p2") {
          call.error = "service 'products' answered 503";
        } else if (id == "p9") {
          call.result = boost::json::object{{"id", id}};  // no name: non-null violation
        } else {
          call.result = boost::json::object{{"id", id}, {"name", "Product " + id}};
        }
      } else if (call.field->name == "user") {
        call.result = boost::json::object{{"id", call.arguments.at("id")}, {"name", "Ada"}};
      } else {
        call.result = static_cast<std::int64_t>(++mutation_counter_);
      }
    }
    batches.push_back(std::move(batch));
    co_return;
  }

 private:
  int mutation_counter_ = 0;
};

struct Execution {
  std::shared_ptr<const Schema> schema;
  Document document;
  ExecutionResult result;
};

Execution run(const std::string& query, Resolvers& resolvers) {
  Execution r;
  std::vector<Error> errors;
  r.schema = Schema::build(kSchema, errors);
  EXPECT_TRUE(r.schema) << (errors.empty() ? "" : errors[0].message);
  r.document = parse(query);
  EXPECT_TRUE(validate(*r.schema, r.document).empty());
  ExecutionRequest request;
  request.schema = r.schema.get();
  request.document = &r.document;
  request.resolvers = &resolvers;
  boost::asio::io_context io;
  boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> { r.result = co_await execute(request); }, boost::asio::detached);
  io.run();
  return r;
}

TEST(GraphqlExecutor, OneBatchPerLevelAcrossAllParents) {
  RecordingResolvers resolvers;
  Execution r = run("{ orders { id product { name } } user(id: 7) { name } }", resolvers);
  ASSERT_EQ(resolvers.batches.size(), 2u);
  EXPECT_EQ(resolvers.batches[0], (std::vector<std::string>{"Query.user", "Query.orders"}));
  // The three orders' products in one batch: what lets the gateway make one call for all.
  EXPECT_EQ(resolvers.batches[1], (std::vector<std::string>{"Order.product", "Order.product", "Order.product"}));
  EXPECT_EQ(to_json_text(r.result.to_json()),
            R"({"errors":[{"message":"Cannot return null for non-nullable field Product.name.","locations":[{"line":1,"column":25}],)"
            R"("path":["orders",2,"product","name"]}],"data":{"orders":[{"id":"o1","product":{"name":"Product p1"}},)"
            R"({"id":"o2","product":{"name":"Product p2"}},{"id":"o3","product":null}],"user":{"name":"Ada"}}})");
}

TEST(GraphqlExecutor, ResolverErrorsAreFieldErrorsInDepthFirstOrder) {
  RecordingResolvers resolvers;
  resolvers.fail_products = true;
  Execution r = run("{ orders { product { id } total } }", resolvers);
  ASSERT_EQ(r.result.errors.size(), 1u);
  EXPECT_EQ(r.result.errors[0].message, "service 'products' answered 503");
  EXPECT_EQ(to_json_text(to_json(r.result.errors[0])),
            R"({"message":"service 'products' answered 503","locations":[{"line":1,"column":12}],"path":["orders",1,"product"]})");
  const auto& orders = r.result.data->at("orders").as_array();
  EXPECT_TRUE(orders[1].at("product").is_null());
  EXPECT_EQ(orders[0].at("total").as_double(), 2.5);
}

TEST(GraphqlExecutor, MutationRootFieldsRunOneAfterTheOther) {
  RecordingResolvers resolvers;
  Execution r = run("mutation { a: first b: second c: first }", resolvers);
  ASSERT_EQ(resolvers.batches.size(), 3u);
  EXPECT_EQ(to_json_text(*r.result.data), R"({"a":1,"b":2,"c":3})");
}

TEST(GraphqlExecutor, JavaScriptNumberText) {
  EXPECT_EQ(js_number(2.0), "2");
  EXPECT_EQ(js_number(0.1), "0.1");
  EXPECT_EQ(js_number(-1.5e-7), "-1.5e-7");
  EXPECT_EQ(js_number(1e21), "1e+21");
  EXPECT_EQ(js_number(123456789012.5), "123456789012.5");
  EXPECT_EQ(js_number(0.000001), "0.000001");
}

TEST(GraphqlParser, TokenLimitRefusesLongDocumentsWhileReading) {
  ParseOptions options;
  options.max_tokens = 10;
  EXPECT_NO_THROW(parse("{ a b c d e f g h }", options));  // 10 tokens
  try {
    parse("{ a b c d e f g h i }", options);
    FAIL() << "accepted 11 tokens";
  } catch (const SyntaxError& e) {
    EXPECT_STREQ(e.what(), "Document contains more than 10 tokens. Parsing aborted.");
  }
}

}  // namespace
}  // namespace portico::graphql
