// Templates: parsing (and its errors), rendering, percent-encoding of hostile values.
#include "plugin/calls/template.hpp"

#include <gtest/gtest.h>

#include <map>

namespace portico::plugin::calls {
namespace {

Template parsed(std::string_view text) {
  std::string error;
  auto t = Template::parse(text, error);
  EXPECT_TRUE(t) << text << ": " << error;
  return t ? *t : Template{};
}

std::string parse_error(std::string_view text) {
  std::string error;
  EXPECT_FALSE(Template::parse(text, error)) << text;
  return error;
}

Template::Lookup from(std::map<std::string, std::string> values) {
  return [values](const Reference& r) -> std::optional<std::string> {
    auto it = values.find(r.source + "." + r.name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(CallTemplate, ParsesReferencesAndLiterals) {
  auto t = parsed("http://users.internal/users/{query.user_id}?team={user.team.id}&x={{y}}");
  ASSERT_EQ(t.references().size(), 2u);
  EXPECT_EQ(t.references()[0].source, "query");
  EXPECT_EQ(t.references()[0].name, "user_id");
  EXPECT_EQ(t.references()[1].source, "user");
  EXPECT_EQ(t.references()[1].name, "team.id");  // a dot path into an earlier backend's body
  auto r = t.render(from({{"query.user_id", "42"}, {"user.team.id", "7"}}), Template::Encoding::url);
  EXPECT_EQ(r.missing, nullptr);
  EXPECT_EQ(r.text, "http://users.internal/users/42?team=7&x={y}");
}

TEST(CallTemplate, RefusesMalformedTemplates) {
  EXPECT_NE(parse_error("/users/{query.user_id").find("unclosed"), std::string::npos);
  EXPECT_NE(parse_error("/users/query}").find("unmatched"), std::string::npos);
  EXPECT_NE(parse_error("/users/{user_id}").find("{source.name}"), std::string::npos);
  EXPECT_NE(parse_error("/users/{query.}").find("{source.name}"), std::string::npos);
  EXPECT_NE(parse_error("/users/{query.a b}").find("not allowed"), std::string::npos);
}

TEST(CallTemplate, AMissingValueIsReportedNotSentEmpty) {
  auto t = parsed("/orders?user_id={query.user_id}");
  auto r = t.render(from({}), Template::Encoding::url);
  ASSERT_NE(r.missing, nullptr);
  EXPECT_EQ(r.missing->text(), "{query.user_id}");
  // An empty value is a value (the argument was given empty).
  EXPECT_EQ(t.render(from({{"query.user_id", ""}}), Template::Encoding::url).text, "/orders?user_id=");
}

TEST(CallTemplate, HostileValuesCannotChangeTheUrlsShape) {
  auto t = parsed("/users/{query.id}/orders?status={query.status}");
  auto r = t.render(from({{"query.id", "../admin?x=1#f"}, {"query.status", "open&admin=true\r\nX-Evil: 1"}}),
                    Template::Encoding::url);
  EXPECT_EQ(r.text, "/users/..%2Fadmin%3Fx%3D1%23f/orders?status=open%26admin%3Dtrue%0D%0AX-Evil%3A%201");
  EXPECT_EQ(percent_encode("a-b_c.d~e"), "a-b_c.d~e");
  EXPECT_EQ(percent_encode("\xC3\xA9 /"), "%C3%A9%20%2F");
  // In a JSON body, values are escaped for a JSON string: quotes, backslashes and control
  // characters cannot end the string or add a field.
  EXPECT_EQ(parsed("{{\"name\": \"{body.name}\"}}")
                .render(from({{"body.name", "a\", \"admin\": true, \"x\": \"\\\n"}}), Template::Encoding::json_string)
                .text,
            "{\"name\": \"a\\\", \\\"admin\\\": true, \\\"x\\\": \\\"\\\\\\n\"}");
}

TEST(CallTemplate, JoinWritesAListWithItsSeparatorEachItemEncoded) {
  auto t = parsed("/products?ids={parents.product_id|join:,}&x={query.x}");
  ASSERT_EQ(t.references().size(), 2u);
  EXPECT_EQ(*t.references()[0].join, ",");
  EXPECT_EQ(t.references()[0].text(), "{parents.product_id|join:,}");
  const std::vector<std::string> ids = {"101", "a/b", "c,d"};
  auto r = t.render(from({{"parents.product_id", join_items(ids.begin(), ids.end())}, {"query.x", "1 2"}}),
                    Template::Encoding::url);
  EXPECT_EQ(r.text, "/products?ids=101,a%2Fb,c%2Cd&x=1%202");
  // Without |join the list is one value: its commas encoded with the rest.
  auto plain = parsed("/p?ids={parents.id}");
  EXPECT_EQ(plain.render(from({{"parents.id", join_items(ids.begin(), ids.end())}}), Template::Encoding::url).text,
            "/p?ids=101%2Ca%2Fb%2Cc%2Cd");
  EXPECT_NE(parse_error("/p?ids={parents.id|upper}").find("unknown filter"), std::string::npos);
}

}  // namespace
}  // namespace portico::plugin::calls
