// Reading services' answers: items matched by key, what a failed call says.
#include "plugin/calls/answer.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace portico::plugin::calls {
namespace {

TEST(CallAnswer, ItemByKeyMatchesTheKeysText) {
  const auto list = boost::json::parse(R"([{"id": 101, "name": "a"}, {"id": "102", "name": "b"}, 7])");
  EXPECT_EQ(item_by_key(list, "id", "101").at("name"), "a");
  EXPECT_EQ(item_by_key(list, "id", "102").at("name"), "b");
  EXPECT_TRUE(item_by_key(list, "id", "103").is_null());
  EXPECT_TRUE(item_by_key(boost::json::value("x"), "id", "101").is_null());
}

TEST(CallAnswer, OnlyA2xxWithJsonIsAnAnswer) {
  BackendResult r;
  r.outcome = BackendResult::Outcome::response;
  r.status = 503;
  EXPECT_EQ(read_answer(r).error, "answered 503");
  r.status = 200;
  r.body = "not json";
  EXPECT_EQ(read_answer(r).error, "answered with a body that is not JSON");
  r.body = R"({"a":1})";
  EXPECT_TRUE(read_answer(r).ok);
  r.body.clear();
  EXPECT_TRUE(read_answer(r).ok);  // no body: null
  r.outcome = BackendResult::Outcome::timed_out;
  r.error.clear();
  EXPECT_TRUE(read_answer(r).timed_out);
  EXPECT_EQ(read_answer(r).error, "timed out");
}

}  // namespace
}  // namespace portico::plugin::calls
