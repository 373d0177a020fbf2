#include "plugin/calls/pointer.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace portico::plugin::calls {
namespace {

TEST(CallPointer, SelectFollowsAJsonPointer) {
  boost::json::value v = boost::json::parse(R"({"data":{"items":[{"id":1},{"id":2}],"a/b":{"m~n":5}}})");
  EXPECT_EQ(select(v, "/data/items/1/id"), boost::json::value(2));
  EXPECT_EQ(select(v, "/data/a~1b/m~0n"), boost::json::value(5));
  EXPECT_EQ(select(v, ""), v);
  EXPECT_FALSE(select(v, "/data/items/2"));
  EXPECT_FALSE(select(v, "/data/items/01"));
  EXPECT_FALSE(select(v, "/data/missing"));
  EXPECT_FALSE(select(v, "data"));  // not a pointer
  EXPECT_FALSE(valid_pointer("/a~2"));
}

}  // namespace
}  // namespace portico::plugin::calls
