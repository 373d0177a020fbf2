#include "config/yaml_json.hpp"

#include <gtest/gtest.h>

namespace portico::config {
namespace {

namespace json = boost::json;

json::value convert(const std::string& yaml, MarkMap& marks) { return yaml_to_json(YAML::Load(yaml), "config", marks); }

TEST(YamlJson, PlainScalarsAreTypedQuotedOnesAreStrings) {
  MarkMap marks;
  auto v = convert(R"(
int: 5
negative: -3
float: 0.25
exp: 1e3
yes_no: yes
off: off
tagged: !!str 123
bool: true
null1: null
null2: ~
empty:
quoted_int: "5"
quoted_bool: 'true'
text: hello world
version: 1.2.3
)", marks);
  EXPECT_EQ(v, json::parse(R"({"int":5,"negative":-3,"float":0.25,"exp":1000.0,"yes_no":true,"off":false,"tagged":"123","bool":true,
    "null1":null,"null2":null,"empty":null,"quoted_int":"5","quoted_bool":"true","text":"hello world",
    "version":"1.2.3"})"));
}

TEST(YamlJson, MarksEveryNodeByPath) {
  MarkMap marks;
  convert("a: 1\nlist:\n  - x\n  - {b: 2}\n", marks);
  EXPECT_EQ(marks.at("config.a").line, 1);
  EXPECT_EQ(marks.at("config.a").column, 4);
  EXPECT_EQ(key_mark_at(marks, "config.a").column, 1);
  EXPECT_EQ(key_mark_at(marks, "config.nope").line, 1);  // no such key: the nearest node
  EXPECT_EQ(marks.at("config.list[1].b").line, 4);
  // An error on a path the tree does not hold points at the nearest node that exists.
  EXPECT_EQ(mark_at(marks, "config.list[1].b.c").line, 4);
  EXPECT_EQ(mark_at(marks, "config.list[7]").line, 3);
  EXPECT_EQ(mark_at(marks, "elsewhere").line, 0);  // outside the tree: unknown
}

}  // namespace
}  // namespace portico::config
