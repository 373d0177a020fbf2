// Shaping a backend's answer: allow / deny on nested objects and arrays, select, reduce, rename.
#include "plugins/aggregate/shape.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace portico::plugins::aggregate {
namespace {

namespace json = boost::json;

std::vector<FieldPath> paths(std::initializer_list<std::string_view> texts) {
  std::vector<FieldPath> out;
  for (auto t : texts) {
    std::string error;
    auto p = FieldPath::parse(t, error);
    EXPECT_TRUE(p) << t << ": " << error;
    if (p) out.push_back(*p);
  }
  return out;
}

const char* kUser = R"({"id":1,"name":"Ada","password_hash":"x",
  "address":{"city":"London","street":"St James's Square","geo":{"lat":51.5,"lng":-0.13}},
  "orders":[{"id":10,"cost":3,"internal_notes":"vip"},{"id":11,"cost":4,"internal_notes":""}]})";

TEST(AggregateShape, AllowKeepsOnlyThePathsAndWhatLeadsToThem) {
  json::value v = json::parse(kUser);
  keep_only(v, paths({"id", "name", "address.city", "orders.id"}));
  EXPECT_EQ(v, json::parse(R"({"id":1,"name":"Ada","address":{"city":"London"},"orders":[{"id":10},{"id":11}]})"));
  json::value all = json::parse(kUser);
  keep_only(all, {});
  EXPECT_EQ(all, json::parse(kUser));  // no allow list: everything
  json::value list = json::parse(R"([{"id":1,"x":2},{"id":3,"y":4}])");
  keep_only(list, paths({"id"}));  // a top-level array: each element
  EXPECT_EQ(list, json::parse(R"([{"id":1},{"id":3}])"));
}

TEST(AggregateShape, DenyRemovesNestedFieldsAndFieldsInArrays) {
  json::value v = json::parse(kUser);
  remove(v, paths({"password_hash", "orders[*].internal_notes", "address.geo.lat", "no.such.path"}));
  EXPECT_FALSE(v.as_object().contains("password_hash"));
  for (const auto& order : v.at("orders").as_array()) EXPECT_FALSE(order.as_object().contains("internal_notes"));
  EXPECT_EQ(v.at("address").at("geo"), json::parse(R"({"lng":-0.13})"));
  EXPECT_EQ(v.at("orders").as_array().size(), 2u);
}

TEST(AggregateShape, PathsAreCheckedWhenRead) {
  std::string error;
  EXPECT_FALSE(FieldPath::parse("", error));
  EXPECT_FALSE(FieldPath::parse("a..b", error));
  EXPECT_FALSE(FieldPath::parse("a.", error));
  EXPECT_EQ(FieldPath::parse("items[*].cost", error)->segments(), (std::vector<std::string>{"items", "cost"}));
}

TEST(AggregateShape, ReduceCountsOrTakesTheFirst) {
  EXPECT_EQ(reduce(json::parse("[1,2,3]"), Reduce::count), json::value(3));
  EXPECT_EQ(reduce(json::parse("[]"), Reduce::count), json::value(0));
  EXPECT_EQ(reduce(json::parse(R"({"a":1})"), Reduce::count), json::value(1));
  EXPECT_EQ(reduce(json::value(nullptr), Reduce::count), json::value(0));
  EXPECT_EQ(reduce(json::parse(R"([{"id":7},{"id":8}])"), Reduce::first), json::parse(R"({"id":7})"));
  EXPECT_EQ(reduce(json::parse("[]"), Reduce::first), json::value(nullptr));
  EXPECT_EQ(reduce(json::parse(R"({"a":1})"), Reduce::first), json::parse(R"({"a":1})"));
}

TEST(AggregateShape, RenameMovesAFieldWhereverThePathLeads) {
  json::value v = json::parse(R"({"user":{"fullname":"Ada","id":1},"items":[{"sku":"a"},{"sku":"b"}]})");
  std::string error;
  rename(v, {{*FieldPath::parse("user.fullname", error), "name"}, {*FieldPath::parse("items.sku", error), "code"},
             {*FieldPath::parse("missing", error), "x"}});
  EXPECT_EQ(v, json::parse(R"({"user":{"id":1,"name":"Ada"},"items":[{"code":"a"},{"code":"b"}]})"));
}

}  // namespace
}  // namespace portico::plugins::aggregate
