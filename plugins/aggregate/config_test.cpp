// The aggregate plugin's configuration: the issue's example read as written, and every
// mistake refused with the field's path.
#include "plugins/aggregate/config.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace portico::plugins::aggregate {
namespace {

namespace json = boost::json;

// The example of issue 12, section 1 (as JSON).
const char* kDashboard = R"({
  "timeout": 1500,
  "backends": [
    {"name": "user", "url": "http://users.internal/users/{query.user_id}", "allow": ["id", "name"], "required": true},
    {"name": "orders", "service": "order-service", "path": "/orders?user_id={query.user_id}", "deny": ["internal_notes"]},
    {"name": "notifications", "service": "notification-service", "path": "/notifications?user_id={query.user_id}",
     "required": false, "timeout": 300}
  ]})";

std::shared_ptr<const AggregateConfig> read(const std::string& text, schema::Errors& errors) {
  auto parsed = aggregate_config_schema().read(json::parse(text), errors, schema::Input::typed, "config");
  return std::static_pointer_cast<const AggregateConfig>(parsed);
}

std::vector<std::string> errors_of(const std::string& text) {
  schema::Errors errors;
  EXPECT_EQ(read(text, errors), nullptr) << text;
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.path + ": " + e.message);
  return out;
}

std::string with_backends(const std::string& backends) { return R"({"backends": [)" + backends + "]}"; }

TEST(AggregateConfig, TheIssuesExampleIsReadAsWritten) {
  schema::Errors errors;
  auto c = read(kDashboard, errors);
  ASSERT_NE(c, nullptr) << (errors.empty() ? "" : errors[0].path + ": " + errors[0].message);
  EXPECT_EQ(c->timeout, 1500);
  ASSERT_EQ(c->backends.size(), 3u);
  const auto& user = c->backends[0];
  EXPECT_EQ(user.target.references().at(0).text(), "{query.user_id}");
  EXPECT_EQ(user.allow_paths.size(), 2u);
  EXPECT_TRUE(user.required);
  EXPECT_EQ(user.timeout, -1);  // the plugin's
  EXPECT_EQ(c->backends[1].service, "order-service");
  EXPECT_EQ(c->backends[1].deny_paths.at(0).segments(), std::vector<std::string>{"internal_notes"});
  EXPECT_FALSE(c->backends[2].required);
  EXPECT_EQ(c->backends[2].timeout, 300);
  EXPECT_EQ(c->on_error, "omit");
  EXPECT_EQ(c->max_backends, 16);
  EXPECT_EQ(c->order.size(), 3u);
}

TEST(AggregateConfig, DependsOnOrdersTheBackendsAndLetsTemplatesReadEarlierBodies) {
  schema::Errors errors;
  auto c = read(with_backends(R"({"name": "team", "url": "http://teams.internal/teams/{user.team_id}", "depends_on": ["user"]},
                                 {"name": "user", "url": "http://users.internal/users/{jwt.sub}", "select": "/data",
                                  "reduce": "first", "rename": {"fullname": "name"}})"),
                errors);
  ASSERT_NE(c, nullptr) << errors.at(0).path << ": " << errors.at(0).message;
  EXPECT_EQ(c->order, (std::vector<std::size_t>{1, 0}));  // user before team
  EXPECT_EQ(c->backends[1].reduce_how, Reduce::first);
  EXPECT_EQ(c->backends[1].renames.at(0).second, "name");
}

TEST(AggregateConfig, MistakesAreRefusedWithTheFieldsPath) {
  auto has = [](const std::vector<std::string>& errors, const std::string& wanted) {
    for (const auto& e : errors) {
      if (e.find(wanted) != std::string::npos) return true;
    }
    ADD_FAILURE() << "no error containing '" << wanted << "' in: " << ::testing::PrintToString(errors);
    return false;
  };
  has(errors_of("{}"), "config.backends: required field missing");
  has(errors_of(R"({"backends": []})"), "config.backends: length must be at least 1");
  has(errors_of(with_backends(R"({"url": "http://a/x"})")), "config.backends[0].name: required field missing");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://a/", "bogus": 1})")), "config.backends[0].bogus: unknown field");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://a/"}, {"name": "a", "url": "http://b/"})")),
      "config.backends[1].name: duplicate backend name 'a'");
  has(errors_of(with_backends(R"({"name": "query", "url": "http://a/"})")), "config.backends[0].name: 'query' is a template source");
  has(errors_of(with_backends(R"({"name": "a"})")), "config.backends[0]: either url or service is required");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://a/", "service": "s"})")), "url and service are exclusive");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://{query.host}/x"})")),
      "config.backends[0].url: the host of a URL cannot come from a template");
  has(errors_of(with_backends(R"({"name": "a", "url": "file:///etc/passwd"})")), "only http:// URLs");
  has(errors_of(with_backends(R"({"name": "a", "url": "https://a/"})")), "https:// URLs are not supported yet");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://a/", "forward_headers": ["X-Ok", "Host"]})")),
      "config.backends[0].forward_headers[1]: 'Host' is written by the gateway itself and cannot be forwarded");
  has(errors_of(R"({"forward_headers": ["content-length"], "backends": [{"name": "a", "url": "http://a/"}]})"),
      "config.forward_headers[0]: 'content-length' is written by the gateway itself");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://a/", "group": "b"}, {"name": "b", "url": "http://b/"})")),
      "config.backends[0].group: group 'b' is also the key of backend 'b'");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://a/{cookie.x}"})")),
      "config.backends[0].url: unknown template source 'cookie' in {cookie.x}");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://a/{consumer.email}"})")), "a consumer has only id and username");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://a/{b.id}"}, {"name": "b", "url": "http://b/"})")),
      "{b.id} reads backend 'b', which is not in depends_on");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://a/", "depends_on": ["ghost"]})")),
      "config.backends[0].depends_on: unknown backend 'ghost'");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://a/", "depends_on": ["b"]},
                                 {"name": "b", "url": "http://b/", "depends_on": ["c"]},
                                 {"name": "c", "url": "http://c/", "depends_on": ["a"]})")),
      "cycle in depends_on: a -> b -> c -> a");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://a/{query.id"})")), "config.backends[0].url: unclosed '{'");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://a/", "select": "data"})")),
      "config.backends[0].select: not a JSON pointer");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://a/", "allow": ["x..y"]})")), "config.backends[0].allow[0]");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://a/", "reduce": "sum"})")), "expected one of: count, first");
  has(errors_of(with_backends(R"({"name": "a", "url": "http://a/", "body": "x"})")), "a body goes with POST, PUT or PATCH");
  has(errors_of(R"({"max_backends": 1, "backends": [{"name": "a", "url": "http://a/"}, {"name": "b", "url": "http://b/"}]})"),
      "config.backends: more than max_backends (1) backends");
}

}  // namespace
}  // namespace portico::plugins::aggregate
