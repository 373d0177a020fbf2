// Composing the aggregate plugin's answer: shaping order, groups, optional failures (omit or
// null), the required failure reported (its own, not one cut short because of it).
#include "plugins/aggregate/compose.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace portico::plugins::aggregate {
namespace {

namespace json = boost::json;

std::shared_ptr<const AggregateConfig> config_of(const std::string& text) {
  schema::Errors errors;
  auto parsed = aggregate_config_schema().read(json::parse(text), errors, schema::Input::typed, "config");
  EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors[0].path + ": " + errors[0].message);
  return std::static_pointer_cast<const AggregateConfig>(parsed);
}

BackendOutcome ok(const char* body) {
  BackendOutcome o;
  o.state = BackendOutcome::State::ok;
  o.body = json::parse(body);
  return o;
}

BackendOutcome failed(const char* error, BackendOutcome::State state = BackendOutcome::State::failed,
                      bool abandoned = false) {
  BackendOutcome o;
  o.state = state;
  o.error = error;
  o.abandoned = abandoned;
  return o;
}

TEST(AggregateCompose, ShapesInOrderAndNestsGroups) {
  auto c = config_of(R"({"backends": [
    {"name": "user", "url": "http://u/", "deny": ["password_hash"], "rename": {"fullname": "name"}},
    {"name": "unread", "url": "http://n/", "select": "/data", "reduce": "count", "group": "inbox"},
    {"name": "latest", "url": "http://n/", "select": "/data", "reduce": "first", "allow": ["id"], "group": "inbox"}]})");
  std::vector<BackendOutcome> outcomes;
  outcomes.push_back(ok(R"({"id": 7, "fullname": "Ada", "password_hash": "x", "plan": "pro"})"));
  outcomes.push_back(ok(R"({"data": [{"id": 1, "text": "a"}, {"id": 2, "text": "b"}]})"));
  outcomes.push_back(ok(R"({"data": [{"id": 1, "text": "a"}, {"id": 2, "text": "b"}]})"));
  Composed out = compose(*c, outcomes);
  EXPECT_EQ(out.status, 200);
  EXPECT_TRUE(out.completed);
  // Field order is the backend's (the renamed field keeps its place).
  EXPECT_EQ(out.body, R"({"user":{"id":7,"name":"Ada","plan":"pro"},"inbox":{"unread":2,"latest":{"id":1}}})");
}

TEST(AggregateCompose, OptionalFailuresAreLeftOutOrNull) {
  const char* backends = R"([{"name": "user", "url": "http://u/"}, {"name": "extra", "url": "http://e/", "required": false}])";
  for (const char* on_error : {"omit", "null"}) {
    auto c = config_of(std::string(R"({"on_error": ")") + on_error + R"(", "backends": )" + backends + "}");
    std::vector<BackendOutcome> outcomes;
    outcomes.push_back(ok(R"({"id": 1})"));
    outcomes.push_back(failed("timed out", BackendOutcome::State::timed_out));
    Composed out = compose(*c, outcomes);
    EXPECT_EQ(out.status, 200);
    EXPECT_FALSE(out.completed);
    EXPECT_EQ(out.body, std::string(on_error) == "omit" ? R"({"user":{"id":1}})" : R"({"user":{"id":1},"extra":null})");
  }
}

TEST(AggregateCompose, TheRequiredFailureReportedIsTheOneThatDecided) {
  auto c = config_of(R"({"backends": [{"name": "a", "url": "http://a/"}, {"name": "b", "url": "http://b/"}]})");
  // b failed; a (first in order) was cancelled because of it: b is named.
  std::vector<BackendOutcome> outcomes;
  outcomes.push_back(failed("failed inside the gateway", BackendOutcome::State::failed, true));
  outcomes.push_back(failed("answered 503"));
  Composed out = compose(*c, outcomes);
  EXPECT_EQ(out.status, 502);
  EXPECT_EQ(out.body, R"({"message":"backend 'b' failed: answered 503","backend":"b"})");
  // Both failed on their own: the first in configuration order; a timeout is a 504.
  outcomes.clear();
  outcomes.push_back(failed("timed out", BackendOutcome::State::timed_out));
  outcomes.push_back(failed("answered 503"));
  out = compose(*c, outcomes);
  EXPECT_EQ(out.status, 504);
  EXPECT_EQ(out.body, R"({"message":"backend 'a' timed out","backend":"a"})");
}

}  // namespace
}  // namespace portico::plugins::aggregate
