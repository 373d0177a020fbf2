#include "json/json_edits.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace portico::json_edit {
namespace {

std::string written(const Document& doc) {
  std::string out;
  doc.write(out);
  return out;
}

// Parses `text`, runs `edit` on it, returns the document written back.
template <typename Fn>
std::string edited(std::string_view text, Fn edit) {
  Document doc;
  EXPECT_TRUE(doc.parse(text)) << doc.error();
  edit(doc);
  return written(doc);
}

TEST(JsonDocument, UntouchedTextIsWrittenBackByteForByte) {
  std::string text = "{ \"id\" : 123456789012345678901234567890, \"name\":\"caf\\u00e9 \\/\",\n \"list\": [1, 2.50e3, true, null] }";
  Document doc;
  ASSERT_TRUE(doc.parse(text));
  EXPECT_FALSE(doc.changed());
  EXPECT_EQ(written(doc), text);
}

TEST(JsonDocument, RefusesWhatIsNotJson) {
  for (std::string_view bad : {"", "{", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "01", "1.", "-", "tru", "\"\x01\"",
                               "\"\\x\"", "\"\\u12g4\"", "{} {}", "{'a':1}", "\"\xC0\xAF\"", "\"\xED\xA0\x80\"",
                               "\"\xF4\x90\x80\x80\"", "\"\\udc00\"", "\"\\ud800x\"", "\"abc", "[1 2]", "{\"a\":1 \"b\":2}", "NaN", "[\"a\"]]"}) {
    Document doc;
    EXPECT_FALSE(doc.parse(bad)) << bad;
    EXPECT_FALSE(doc.error().empty());
  }
}

TEST(JsonDocument, NestingIsBoundedByTheTextNotTheStack) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  Document doc;
  ASSERT_TRUE(doc.parse(deep));
  EXPECT_EQ(written(doc), deep);
  std::string unbalanced = std::string(100000, '[') + std::string(99999, ']');
  EXPECT_FALSE(doc.parse(unbalanced));
}

TEST(JsonDocument, AShallowParseChecksEveryValueItDoesNotKeep) {
  for (std::string_view bad : {"{\"a\":[1,{\"b\":tru}]}", "{\"a\":{\"b\":\"\\x\"}}", "[[1,]]", "{\"a\":{\"b\":1}} x",
                               "{\"a\":[\"\xC0\xAF\"]}", "{\"a\":[[[1]]}", "{\"a\":{\"b\" 1}}", "[[01]]"}) {
    for (std::size_t depth : {0u, 1u, 2u}) {
      Document doc;
      EXPECT_FALSE(doc.parse(bad, Document::kDefaultMaxValues, depth)) << bad << " at depth " << depth;
    }
  }
  // Values not kept still count against the limit (it bounds the work, not only the nodes).
  Document doc;
  EXPECT_FALSE(doc.parse("[[0,0],[0,0]]", 6, 0));
  EXPECT_TRUE(doc.too_many_values());
  EXPECT_TRUE(doc.parse("[[0,0],[0,0]]", 7, 0));
  // Deep nesting below the kept depth: checked, written back whole.
  std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + ",\"b\":1}";
  ASSERT_TRUE(doc.parse(deep, Document::kDefaultMaxValues, 1));
  EXPECT_TRUE(doc.children_skipped(doc.first_child(doc.root())));
  EXPECT_TRUE(remove(doc, parse_path("b")));
  EXPECT_EQ(written(doc), "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}");
}

// Every operation gives the same text on a document parsed only as deep as its path reaches
// (depth_to_keep) as on one parsed whole.
TEST(JsonDocument, AShallowParseEditsLikeAFullOne) {
  const std::string text = R"({ "id": 1, "user": {"name": "ada", "password_hash": "x", "tags": ["a", {"t": 1}]},
    "items": [{"id": 1, "cost": 3, "sub": {"k": [1, 2]}}, {"id": 2, "cost": {"v": 4}}], "s": "one", "a.b": {"c": [1]},
    "list": [[1, 2], {"x": [3]}], "f": false, "n": null })";
  using Op = std::function<void(Document&, const Path&)>;
  std::vector<Op> ops = {
      [](Document& d, const Path& p) { remove(d, p); },
      [](Document& d, const Path& p) { rename(d, p, "renamed", false); },
      [](Document& d, const Path& p) { replace(d, p, string_value("r")); },
      [](Document& d, const Path& p) { add(d, p, string_value("added")); },
      [](Document& d, const Path& p) { append(d, p, string_value("appended")); },
  };
  for (std::string_view name : {"id", "user", "user.password_hash", "user.tags", "user.tags[1].t", "items[*].cost",
                                "items[*].sub.k", "items[0]", "list[*]", "list[1].x", "a.b", "s", "f", "n", "missing.key",
                                "[*].id"}) {
    Path path = parse_path(name);
    for (std::size_t k = 0; k < ops.size(); ++k) {
      Document full, shallow;
      ASSERT_TRUE(full.parse(text));
      ASSERT_TRUE(shallow.parse(text, Document::kDefaultMaxValues, depth_to_keep(path)));
      ops[k](full, path);
      ops[k](shallow, path);
      EXPECT_EQ(written(shallow), written(full)) << name << ", operation " << k;
    }
  }
}

TEST(JsonEdits, RemovesATopLevelKeyAndKeepsTheRestAsItWas) {
  auto out = edited("{\"id\": 1, \"password_hash\": \"x\", \"big\": 12345678901234567890123}",
                    [](Document& d) { EXPECT_TRUE(remove(d, parse_path("password_hash"))); });
  EXPECT_EQ(out, "{\"id\":1,\"big\":12345678901234567890123}");
}

TEST(JsonEdits, RemovesEveryDuplicateAndEscapedSpellingOfAKey) {
  auto out = edited("{\"password_hash\":1,\"pass\\u0077ord_hash\":2,\"a\":3,\"password_hash\":4}",
                    [](Document& d) { remove(d, parse_path("password_hash")); });
  EXPECT_EQ(out, "{\"a\":3}");
}

TEST(JsonEdits, PathsReachNestedObjectsAndEveryArrayElement) {
  auto out = edited(R"({"user":{"id":7,"password_hash":"h"},"items":[{"sku":"a","cost":3},{"sku":"b","cost":4},5]})",
                    [](Document& d) {
                      remove(d, parse_path("user.password_hash"));
                      remove(d, parse_path("items[*].cost"));
                    });
  EXPECT_EQ(out, R"({"user":{"id":7},"items":[{"sku":"a"},{"sku":"b"},5]})");
  out = edited(R"([{"id":1,"secret":1},{"id":2,"secret":2}])", [](Document& d) { remove(d, parse_path("[*].secret")); });
  EXPECT_EQ(out, R"([{"id":1},{"id":2}])");
  out = edited(R"({"items":[{"a":1},{"a":2}]})", [](Document& d) { remove(d, parse_path("items[1].a")); });
  EXPECT_EQ(out, R"({"items":[{"a":1},{}]})");
}

TEST(JsonEdits, ATopLevelKeySpelledLikeThePathKeepsKongsMeaning) {
  auto out = edited(R"({"a.b":1,"a":{"b":2}})", [](Document& d) { remove(d, parse_path("a.b")); });
  EXPECT_EQ(out, R"({"a":{"b":2}})");
  // add: a path whose parent does not exist adds the literal key, as Kong.
  out = edited(R"({})", [](Document& d) { add(d, parse_path("meta.version"), string_value("2")); });
  EXPECT_EQ(out, R"({"meta.version":"2"})");
  out = edited(R"({"meta":{}})", [](Document& d) { add(d, parse_path("meta.version"), string_value("2")); });
  EXPECT_EQ(out, R"({"meta":{"version":"2"}})");
}

TEST(JsonEdits, MalformedPathsAreLiteralKeys) {
  for (std::string_view name : {"a..b", "x[", "a.", ".a", "a[x]", "a[0]b"}) {
    Path p = parse_path(name);
    ASSERT_EQ(p.steps.size(), 1u) << name;
    EXPECT_EQ(p.steps[0].key, name);
  }
  EXPECT_EQ(parse_path("a[0][*].b").steps.size(), 4u);
}

// Kong's unit spec (02-body_transformer_spec.lua), response-transformer's typed values.
TEST(JsonEdits, KongsTypedAdd) {
  const std::pair<std::string_view, std::string_view> adds[] = {{"p1:v1", ""},        {"p3:value:3", "string"},
                                                                {"p4:\"v1\"", "string"}, {"p5:-1", "number"},
                                                                {"p6:false", "boolean"}, {"p7:true", "boolean"}};
  auto out = edited(R"({"p2":"v1"})", [&](Document& d) {
    for (auto [entry, type] : adds) {
      auto colon = entry.find(':');
      Value v;
      ASSERT_TRUE(typed_value(entry.substr(colon + 1), type, v));
      add(d, parse_path(entry.substr(0, colon)), v);
    }
  });
  EXPECT_EQ(out, R"({"p2":"v1","p1":"v1","p3":"value:3","p4":"\"v1\"","p5":-1,"p6":false,"p7":true})");
}

TEST(JsonEdits, KongsCombinedOperationsActOnTheLiveDocument) {
  auto out = edited(R"({"p1":"v1","p4":"v1"})", [](Document& d) {
    remove(d, parse_path("p1"));
    rename(d, parse_path("p4"), "p2", false);
    replace(d, parse_path("p2"), string_value("v2"));
    add(d, parse_path("p3"), string_value("v1"));
    append(d, parse_path("p3"), string_value("v2"));
  });
  EXPECT_EQ(out, R"({"p2":"v2","p3":["v1","v2"]})");
}

TEST(JsonEdits, TruthinessFollowsKong) {
  // replace: false is not replaced, null is; add: false is overwritten, null kept.
  auto out = edited(R"({"f":false,"n":null})", [](Document& d) {
    replace(d, parse_path("f"), string_value("x"));
    replace(d, parse_path("n"), string_value("y"));
  });
  EXPECT_EQ(out, R"({"f":false,"n":"y"})");
  out = edited(R"({"f":false,"n":null})", [](Document& d) {
    add(d, parse_path("f"), string_value("x"));
    add(d, parse_path("n"), string_value("y"));
  });
  EXPECT_EQ(out, R"({"f":"x","n":null})");
  // rename: the response plugin moves false, the request plugin does not.
  EXPECT_EQ(edited(R"({"a":false})", [](Document& d) { rename(d, parse_path("a"), "b", false); }), R"({"b":false})");
  EXPECT_EQ(edited(R"({"a":false})", [](Document& d) { rename(d, parse_path("a"), "b", true); }), R"({"a":false})");
}

TEST(JsonEdits, RenameReplacesTheTargetAndIgnoresItsOwnName) {
  EXPECT_EQ(edited(R"({"a":1,"b":2})", [](Document& d) { rename(d, parse_path("a"), "b", false); }), R"({"b":1})");
  Document doc;
  ASSERT_TRUE(doc.parse(R"({"a":1})"));
  EXPECT_FALSE(rename(doc, parse_path("a"), "a", false));
  EXPECT_EQ(written(doc), R"({"a":1})");
}

TEST(JsonEdits, AppendMakesArrays) {
  auto out = edited(R"({"s":"v0","a":[1],"n":3})", [](Document& d) {
    append(d, parse_path("s"), string_value("v1"));
    append(d, parse_path("a"), string_value("x"));
    append(d, parse_path("n"), string_value("y"));
    append(d, parse_path("new"), string_value("z"));
    append(d, parse_path("new"), string_value("z2"));
  });
  EXPECT_EQ(out, R"({"s":["v0","v1"],"a":[1,"x"],"n":["y"],"new":["z","z2"]})");
}

TEST(JsonEdits, NumbersAreTypedAsLuaReadsThem) {
  Value v;
  EXPECT_FALSE(typed_value("abc", "number", v));
  EXPECT_FALSE(typed_value("", "number", v));
  EXPECT_FALSE(typed_value("inf", "number", v));
  ASSERT_TRUE(typed_value(" 0x10 ", "number", v));
  EXPECT_EQ(v.json, "16");
  ASSERT_TRUE(typed_value("2.5", "number", v));
  EXPECT_EQ(v.json, "2.5");
  ASSERT_TRUE(typed_value("yes", "boolean", v));
  EXPECT_EQ(v.json, "false");
}

TEST(JsonEdits, InsertedStringsAreEscaped) {
  auto out = edited("{}", [](Document& d) { add(d, parse_path("k"), string_value("a\"b\\c\n\x01")); });
  EXPECT_EQ(out, "{\"k\":\"a\\\"b\\\\c\\n\\u0001\"}");
}

TEST(JsonEdits, ScalarsAndArraysIgnoreKeyOperations) {
  EXPECT_EQ(edited("42", [](Document& d) { add(d, parse_path("k"), string_value("v")); }), "42");
  EXPECT_EQ(edited("[1]", [](Document& d) { remove(d, parse_path("k")); }), "[1]");
}

TEST(JsonEdits, AMillionDuplicatesAreRemovedInLinearTime) {
  std::string text = "{";
  for (int k = 0; k < 200000; ++k) text += "\"a\":0,\"password\":0,";
  text += "\"z\":1}";
  Document doc;
  ASSERT_TRUE(doc.parse(text));
  EXPECT_TRUE(remove(doc, parse_path("password")));
  std::string out;
  doc.write(out);
  EXPECT_EQ(out.find("password"), std::string::npos);
  EXPECT_EQ(out.size(), text.size() - 200000 * std::string("\"password\":0,").size());
}

TEST(JsonDocument, RefusesMoreValuesThanItsBound) {
  Document doc;
  EXPECT_FALSE(doc.parse("[0,0,0,0]", 4));
  EXPECT_TRUE(doc.too_many_values());
  EXPECT_TRUE(doc.parse("[0,0,0]", 4));
  EXPECT_FALSE(doc.too_many_values());
}

}  // namespace
}  // namespace portico::json_edit
