// Validation cases the differential test cannot hold because graphql-js itself fails on them
// (its stack overflows): documents that must get a clear answer from Portico instead.
#include "graphql/validation.hpp"

#include <gtest/gtest.h>

#include "graphql/parser.hpp"
#include "graphql/schema.hpp"

namespace portico::graphql {
namespace {

std::shared_ptr<const Schema> ships() {
  std::vector<Error> errors;
  auto schema = Schema::build("type Query { node(id: ID!): Ship } type Ship { id: ID! x: Ship }", errors);
  EXPECT_TRUE(schema);
  return schema;
}

// Found by the validator fuzzer: field merging followed the fragment through its own
// spreads until the stack ran out (graphql-js 16.9 throws "Maximum call stack size exceeded").
TEST(GraphqlValidation, FragmentCycleThroughFieldsIsReportedNotFollowed) {
  const auto schema = ships();
  const Document document = parse("{ node(id: 1) { ...S } } fragment S on Ship { x { ...S x { ...S } } }");
  const std::vector<Error> errors = validate(*schema, document);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors.front().message, "Cannot spread fragment \"S\" within itself.");
}

// Found by the validator fuzzer: with two definitions of one fragment name, a cycle through
// the later one (the one spreads resolve to) hid behind the earlier one, and field merging then
// followed it until the stack ran out. (The input is kept in the fuzz corpus.)
TEST(GraphqlValidation, CycleThroughADuplicateFragmentNameIsReported) {
  const auto schema = ships();
  const Document document = parse(
      "{ node(id: 1) { ...A } } fragment A on Ship { id } fragment B on Ship { x { ...A } } "
      "fragment A on Ship { x { ...B } }");
  const std::vector<Error> errors = validate(*schema, document);
  bool cycle = false;
  for (const Error& e : errors) cycle = cycle || e.message.find("within itself") != std::string::npos;
  EXPECT_TRUE(cycle) << (errors.empty() ? "no error" : errors.front().message);
}

TEST(GraphqlParser, NestingDeeperThanTheLimitIsASyntaxError) {
  std::string deep;
  for (int i = 0; i < 300; ++i) deep += "{ x ";
  deep += std::string(300, '}');
  try {
    parse(deep);
    FAIL() << "parsed 300 nested selection sets";
  } catch (const SyntaxError& e) {
    EXPECT_STREQ(e.what(), "Document nesting is deeper than 256 levels.");
  }
  std::string lists = "{ node(id: " + std::string(1000, '[') + std::string(1000, ']') + ") { id } }";
  EXPECT_THROW(parse(lists), SyntaxError);
}

}  // namespace
}  // namespace portico::graphql
