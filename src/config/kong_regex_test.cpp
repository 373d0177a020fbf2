#include "config/kong_regex.hpp"

#include <gtest/gtest.h>

namespace portico::config {
namespace {

std::string translated(std::string_view kong) {
  auto r = translate_kong_regex(kong);
  EXPECT_TRUE(r.ok()) << kong << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : "";
}

std::string refusal(std::string_view kong) {
  auto r = compile_kong_regex(kong);
  EXPECT_FALSE(r.ok()) << kong << " compiled";
  return r.ok() ? "" : r.error().message;
}

TEST(KongRegex, NamedGroupsBecomeRe2Syntax) {
  EXPECT_EQ(translated("/items/(?<item>[0-9]+)$"), "/items/(?P<item>[0-9]+)$");
  EXPECT_EQ(translated("/(?<a>x)/(?<b_2>y)"), "/(?P<a>x)/(?P<b_2>y)");
  EXPECT_EQ(translated("/(?'item'[0-9]+)"), "/(?P<item>[0-9]+)");
  // Already RE2's spelling, and groups that are not named, are kept.
  EXPECT_EQ(translated("/(?P<item>[0-9]+)"), "/(?P<item>[0-9]+)");
  EXPECT_EQ(translated("/(?:a|b)(?i)c(x)"), "/(?:a|b)(?i)c(x)");
}

TEST(KongRegex, EscapesAndClassesAreLeftAlone) {
  EXPECT_EQ(translated(R"(/a\(?<b)"), R"(/a\(?<b)");            // escaped paren: literal "(", optional, "<b"
  EXPECT_EQ(translated(R"(/[(?<]x)"), R"(/[(?<]x)");            // "(?<" inside a class is three literals
  EXPECT_EQ(translated(R"(/[]?(<]x)"), R"(/[]?(<]x)");          // a leading ']' is a literal
  EXPECT_EQ(translated(R"(/[^](?<]x)"), R"(/[^](?<]x)");
  EXPECT_EQ(translated(R"(/[\](?<]x)"), R"(/[\](?<]x)");        // escaped ']' does not close the class
  EXPECT_EQ(translated(R"(/[[:alpha:](?<]x)"), R"(/[[:alpha:](?<]x)");
  EXPECT_EQ(translated(R"(/\Q(?<x>\E(?<y>z))"), R"(/\Q(?<x>\E(?P<y>z))");
  EXPECT_EQ(translated(R"(/[a]\\(?<n>x))"), R"(/[a]\\(?P<n>x))");   // "\\" is a literal backslash
}

TEST(KongRegex, CompiledCapturesAreUsableByName) {
  auto re = compile_kong_regex("/items/(?<item>[0-9]+)/(?'part'[a-z]+)$");
  ASSERT_TRUE(re.ok()) << re.error().message;
  const auto& groups = (*re)->NamedCapturingGroups();
  ASSERT_EQ(groups.count("item"), 1u);
  ASSERT_EQ(groups.count("part"), 1u);
  std::string item, part;
  EXPECT_TRUE(RE2::FullMatch("/items/42/abc", **re, &item, &part));
  EXPECT_EQ(item, "42");
  EXPECT_EQ(part, "abc");
}

TEST(KongRegex, LookaroundAndBackreferencesAreRefusedWithTheReason) {
  std::string msg = refusal("/(?<=a)b");
  EXPECT_NE(msg.find("invalid regex '/(?<=a)b'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("lookbehind '(?<=' is not supported"), std::string::npos) << msg;
  EXPECT_NE(msg.find("linear time"), std::string::npos) << msg;
  EXPECT_NE(refusal("/(?<!a)b").find("lookbehind '(?<!'"), std::string::npos);
  EXPECT_NE(refusal("/a(?=b)").find("lookahead '(?='"), std::string::npos);
  EXPECT_NE(refusal("/a(?!b)").find("lookahead '(?!'"), std::string::npos);
  EXPECT_NE(refusal(R"(/(a)\1)").find(R"(backreference '\1')"), std::string::npos);
  EXPECT_NE(refusal(R"(/(a)\1x)").find(R"(backreference '\1')"), std::string::npos);
  EXPECT_NE(refusal(R"(/(?<x>a)\k<x>)").find(R"(backreference '\k')"), std::string::npos);
  EXPECT_NE(refusal(R"(/(?P<x>a)(?P=x))").find("backreference '(?P='"), std::string::npos);
}

TEST(KongRegex, LookaroundSpellingsInsideClassesOrEscapesAreNotRefused) {
  EXPECT_TRUE(compile_kong_regex(R"(/[(?<=]x)").ok());
  EXPECT_TRUE(compile_kong_regex(R"(/\(?<=x)").ok());
  EXPECT_TRUE(compile_kong_regex(R"(/[\\1]x)").ok());  // a backslash and a "1"
  EXPECT_TRUE(compile_kong_regex(R"(/\Q(?=\E)").ok());
}

TEST(KongRegex, Re2ErrorsQuoteThePattern) {
  std::string msg = refusal("/items/(?<item>[0-9]+");
  EXPECT_NE(msg.find("invalid regex '/items/(?<item>[0-9]+'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing )"), std::string::npos) << msg;
  // Malformed names are reported in the user's spelling, not RE2's "(?P<".
  for (const char* bad : {"/(?<bad-name>x)", "/(?<>x)", "/(?<", "/(?<name", "/(?'unclosed", "/(?'a>x)"}) {
    std::string why = refusal(bad);
    EXPECT_NE(why.find("invalid named group '(?"), std::string::npos) << bad << ": " << why;
    EXPECT_EQ(why.find("(?P<"), std::string::npos) << bad << ": " << why;
  }
  EXPECT_FALSE(compile_kong_regex("/x\\").ok());          // trailing backslash
}

TEST(KongRegex, MultiDigitEscapesAreOctalCodesAsInRe2) {
  auto re = compile_kong_regex(R"(/a\101)");  // \101 is 'A'
  ASSERT_TRUE(re.ok()) << re.error().message;
  EXPECT_TRUE(RE2::FullMatch("/aA", **re));
}

TEST(KongRegex, OptionsAreKept) {
  RE2::Options opts;
  opts.set_case_sensitive(false);
  auto re = compile_kong_regex("^(?<v>v[0-9])$", opts);
  ASSERT_TRUE(re.ok());
  EXPECT_TRUE(RE2::FullMatch("V2", **re));
}

}  // namespace
}  // namespace portico::config
