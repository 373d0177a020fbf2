#include "schema/record.hpp"

#include <gtest/gtest.h>

namespace portico::schema {
namespace {

struct Options {
  std::string anonymous;
};

struct Example {
  int minute = 0;
  double ratio = 0.5;
  bool enabled = true;
  std::string policy = "local";
  std::string realm;  // nullable: "" is Kong's null
  std::vector<std::string> key_names{"apikey"};
  std::vector<int> statuses{500, 503};
  std::vector<std::pair<std::string, std::string>> headers;
  Options options;
};

const Record<Example>& example() {
  static const Record<Example> r = [] {
    Record<Example> rec;
    rec.field("minute", &Example::minute, {.min = 0, .max = 1000})
        .field("ratio", &Example::ratio, {.min = 0, .max = 1})
        .field("enabled", &Example::enabled)
        .field("policy", &Example::policy, {.one_of = {"local", "redis"}})
        .field("realm", &Example::realm, {.nullable = true})
        .field("key_names", &Example::key_names, {.len_min = 1, .check = [](const std::string& s) {
                 return s.find(' ') == std::string::npos ? std::string() : "no spaces";
               }})
        .field("statuses", &Example::statuses, {.min = 100, .max = 599})
        .field("headers", &Example::headers)
        .field<std::string>("anonymous", [](Example& e) -> std::string& { return e.options.anonymous; }, {.nullable = true})
        .check([](const Example& e, Errors& errors) {
          if (e.minute == 0 && e.policy == "redis") errors.push_back({"minute", "required with policy redis"});
        });
    return rec;
  }();
  return r;
}

std::string all(const Errors& errors) {
  std::string s;
  for (const auto& e : errors) s += e.path + ": " + e.message + "\n";
  return s;
}

TEST(SchemaRecord, NullMeansEveryDefault) {
  Example e;
  Errors errors;
  ASSERT_TRUE(example().read(nullptr, e, errors)) << all(errors);
  EXPECT_EQ(e.policy, "local");
  EXPECT_EQ(e.key_names, std::vector<std::string>{"apikey"});
}

TEST(SchemaRecord, ReadsEveryTypeFromJson) {
  Example e;
  Errors errors;
  auto input = json::parse(R"({"minute":100,"ratio":1,"enabled":false,"policy":"redis","realm":null,
    "key_names":["k1","k2"],"statuses":[502],"headers":{"sub":"X-User"},"anonymous":"guest"})");
  ASSERT_TRUE(example().read(input, e, errors)) << all(errors);
  EXPECT_EQ(e.minute, 100);
  EXPECT_DOUBLE_EQ(e.ratio, 1.0);
  EXPECT_FALSE(e.enabled);
  EXPECT_EQ(e.policy, "redis");
  EXPECT_EQ(e.realm, "");
  EXPECT_EQ(e.key_names, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(e.statuses, std::vector<int>{502});
  ASSERT_EQ(e.headers.size(), 1u);
  EXPECT_EQ(e.headers[0].second, "X-User");
  EXPECT_EQ(e.options.anonymous, "guest");
}

TEST(SchemaRecord, CollectsEveryFieldErrorWithItsPath) {
  Example e;
  Errors errors;
  auto input = json::parse(R"({"minute":1001,"ratio":"x","enabled":"yes","policy":"cluster","nope":1,
    "key_names":["ok","a b", 3],"statuses":[99,"500"],"headers":{"sub":1}})");
  EXPECT_FALSE(example().read(input, e, errors, Input::typed, "config"));
  std::string got = all(errors);
  for (const char* expected : {
           "config.nope: unknown field",
           "config.minute: value should be between 0 and 1000",
           "config.ratio: expected a number",
           "config.enabled: expected a boolean",
           "config.policy: expected one of: local, redis",
           "config.key_names[1]: no spaces",
           "config.key_names[2]: expected a string",
           "config.statuses[0]: value should be between 100 and 599",
           "config.statuses[1]: expected an integer",
           "config.headers.sub: expected a string",
       }) {
    EXPECT_NE(got.find(expected), std::string::npos) << expected << "\n got:\n" << got;
  }
  EXPECT_EQ(e.minute, 0);  // an invalid field keeps its default
}

TEST(SchemaRecord, RecordChecksRunOnlyOnCleanFields) {
  Example e;
  Errors errors;
  EXPECT_FALSE(example().read(json::parse(R"({"policy":"redis"})"), e, errors, Input::typed, "config"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "config.minute");
  EXPECT_EQ(errors[0].message, "required with policy redis");
  errors.clear();
  EXPECT_FALSE(example().read(json::parse(R"({"policy":"redis","ratio":2})"), e, errors));
  EXPECT_EQ(errors.size(), 1u) << all(errors);  // only the field error
}

TEST(SchemaRecord, TypedInputDoesNotConvertStrings) {
  Example e;
  Errors errors;
  EXPECT_FALSE(example().read(json::parse(R"({"minute":"5"})"), e, errors));
  EXPECT_EQ(all(errors), "minute: expected an integer\n");
}

TEST(SchemaRecord, TextInputConvertsAsKongDoesForForms) {
  Example e;
  Errors errors;
  auto input = json::parse(R"({"minute":"5","ratio":"0.25","enabled":"false","key_names":"token","statuses":["502","504"]})");
  ASSERT_TRUE(example().read(input, e, errors, Input::text)) << all(errors);
  EXPECT_EQ(e.minute, 5);
  EXPECT_DOUBLE_EQ(e.ratio, 0.25);
  EXPECT_FALSE(e.enabled);
  EXPECT_EQ(e.key_names, std::vector<std::string>{"token"});  // one value: a one-element array
  EXPECT_EQ(e.statuses, (std::vector<int>{502, 504}));
  errors.clear();
  EXPECT_FALSE(example().read(json::parse(R"({"minute":"5x","enabled":"yes"})"), e, errors, Input::text));
  EXPECT_EQ(errors.size(), 2u) << all(errors);
}

TEST(SchemaRecord, IntegersMustBeWholeAndInRange) {
  Example e;
  Errors errors;
  EXPECT_FALSE(example().read(json::parse(R"({"minute":1.5})"), e, errors));
  EXPECT_FALSE(example().read(json::parse(R"({"minute":1e12})"), e, errors));
  EXPECT_EQ(errors.size(), 2u);
  EXPECT_TRUE(example().read(json::parse(R"({"minute":7.0})"), e, errors = {}));
  EXPECT_EQ(e.minute, 7);
}

TEST(SchemaRecord, RequiredFields) {
  struct Consumer {
    std::string username;
  };
  Record<Consumer> r;
  r.field("username", &Consumer::username, {.required = true});
  Consumer c;
  Errors errors;
  EXPECT_FALSE(r.read(json::parse("{}"), c, errors));
  EXPECT_FALSE(r.read(json::parse(R"({"username":null})"), c, errors));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].message, "required field missing");
  EXPECT_FALSE(r.read(json::parse("[]"), c, errors = {}));
  EXPECT_EQ(errors.at(0).message, "expected a record");
}

TEST(SchemaRecord, WriteFillsEveryDefault) {
  Example e;
  e.minute = 60;
  json::object out = example().write(e);
  EXPECT_EQ(out, json::parse(R"({"minute":60,"ratio":0.5,"enabled":true,"policy":"local","realm":null,)"
                             R"("key_names":["apikey"],"statuses":[500,503],"headers":{},"anonymous":null})"));
  // What was written reads back to the same record.
  Example again;
  Errors errors;
  ASSERT_TRUE(example().read(out, again, errors)) << all(errors);
  EXPECT_EQ(json::serialize(example().write(again)), json::serialize(out));
}

TEST(SchemaRecord, DescribeUsesKongsShape) {
  json::object d = example().describe();
  EXPECT_EQ(d.at("type"), "record");
  const auto& fields = d.at("fields").as_array();
  ASSERT_EQ(fields.size(), 9u);
  EXPECT_EQ(json::serialize(fields[0]), R"({"minute":{"type":"integer","between":[0,1000],"default":0}})");
  EXPECT_EQ(json::serialize(fields[3]), R"({"policy":{"type":"string","one_of":["local","redis"],"default":"local"}})");
  EXPECT_EQ(json::serialize(fields[5]),
            R"({"key_names":{"type":"array","elements":{"type":"string"},"len_min":1,"default":["apikey"]}})");
  EXPECT_EQ(json::serialize(fields[7]),
            R"({"headers":{"type":"map","keys":{"type":"string"},"values":{"type":"string"},"default":{}}})");
}

}  // namespace
}  // namespace portico::schema

namespace portico::schema {
namespace {

struct Step {
  std::string name;
  int timeout = 300;
};
struct Plan {
  std::vector<Step> steps;
};

const Record<Plan>& plan() {
  static const Record<Step> step = Record<Step>().field("name", &Step::name, {.required = true}).field("timeout", &Step::timeout, {.min = 1});
  static const Record<Plan> r = Record<Plan>().records<Step>("steps", [](Plan& p) -> std::vector<Step>& { return p.steps; }, step,
                                                             {.required = true, .len_min = 1});
  return r;
}

TEST(SchemaRecord, AListOfRecordsIsReadElementByElementWithItsDefaults) {
  Plan p;
  Errors errors;
  ASSERT_TRUE(plan().read(json::parse(R"({"steps":[{"name":"a"},{"name":"b","timeout":5}]})"), p, errors));
  ASSERT_EQ(p.steps.size(), 2u);
  EXPECT_EQ(p.steps[0].timeout, 300);  // the element's default
  EXPECT_EQ(p.steps[1].timeout, 5);
  EXPECT_EQ(json::serialize(plan().write(p)), R"({"steps":[{"name":"a","timeout":300},{"name":"b","timeout":5}]})");
  EXPECT_EQ(plan().describe().at("fields").at(0).at("steps").at("type"), "array");
}

TEST(SchemaRecord, AListOfRecordsReportsEachElementsErrorsWithItsIndex) {
  Plan p;
  Errors errors;
  EXPECT_FALSE(plan().read(json::parse(R"({"steps":[{"name":"a"},{"timeout":0,"x":1}]})"), p, errors));
  std::vector<std::string> got;
  for (const auto& e : errors) got.push_back(e.path + ": " + e.message);
  EXPECT_EQ(got, (std::vector<std::string>{"steps[1].x: unknown field", "steps[1].name: required field missing",
                                           "steps[1].timeout: value should be at least 1"}));
  errors.clear();
  EXPECT_FALSE(plan().read(json::parse(R"({"steps":[]})"), p, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "length must be at least 1");
  errors.clear();
  EXPECT_FALSE(plan().read(json::parse(R"({"steps":{"name":"a"}})"), p, errors));
  EXPECT_EQ(errors.at(0).message, "expected an array");
}

}  // namespace
}  // namespace portico::schema
