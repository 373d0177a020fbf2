#include "path_template.hpp"

#include <gtest/gtest.h>

namespace portico::grpc_gateway {
namespace {

PathTemplate parsed(std::string_view text) {
  PathTemplate t;
  std::string error;
  EXPECT_TRUE(t.parse(text, error)) << text << ": " << error;
  return t;
}

TEST(PathTemplate, BindsOneSegmentVariablesDecoded) {
  PathTemplate t = parsed("/v1/users/{id}/books/{book.isbn}");
  PathTemplate::Captures c;
  ASSERT_TRUE(t.match("/v1/users/42/books/a%20b%2Fc", c));
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].first, "id");
  EXPECT_EQ(c[0].second, "42");
  EXPECT_EQ(c[1].first, "book.isbn");
  EXPECT_EQ(c[1].second, "a b/c");
  EXPECT_FALSE(t.match("/v1/users/42/books", c));
  EXPECT_FALSE(t.match("/v1/users//books/1", c));  // a variable never binds an empty segment
  EXPECT_FALSE(t.match("/v1/users/42/books/1/more", c));
  EXPECT_FALSE(t.match("/v1/users/42/books/%zz", c));
}

TEST(PathTemplate, MultiSegmentVariablesKeepTheirLiteralsAndEncodedSlashes) {
  PathTemplate t = parsed("/v1/{name=shelves/*/books/*}");
  PathTemplate::Captures c;
  ASSERT_TRUE(t.match("/v1/shelves/1/books/a%2Fb%20c", c));
  EXPECT_EQ(c[0].second, "shelves/1/books/a%2Fb c");
  EXPECT_FALSE(t.match("/v1/shelves/1/tomes/2", c));

  PathTemplate rest = parsed("/files/{path=**}");
  ASSERT_TRUE(rest.match("/files/a/b/c", c));
  EXPECT_EQ(c[0].second, "a/b/c");
  ASSERT_TRUE(rest.match("/files", c));
  EXPECT_EQ(c[0].second, "");
}

TEST(PathTemplate, VerbsAndWildcards) {
  PathTemplate t = parsed("/v1/{id}:cancel");
  PathTemplate::Captures c;
  ASSERT_TRUE(t.match("/v1/7:cancel", c));
  EXPECT_EQ(c[0].second, "7");
  EXPECT_FALSE(t.match("/v1/7", c));
  EXPECT_FALSE(t.match("/v1/7:other", c));
  PathTemplate star = parsed("/v1/*/x");
  EXPECT_TRUE(star.match("/v1/anything/x", c));
  EXPECT_TRUE(c.empty());
  PathTemplate fallback = parsed("/pkg.Service/Method");
  EXPECT_TRUE(fallback.match("/pkg.Service/Method", c));
  EXPECT_FALSE(fallback.match("/pkgXService/Method", c));  // literals are not patterns
}

TEST(PathTemplate, RefusesMalformedTemplatesSayingWhere) {
  for (std::string_view bad : {"v1/x", "/v1/{id", "/v1/{a={b}}", "/v1/**/x", "/v1/a*", "/v1//x", "/v1/{9x}", "/v1/x:"}) {
    PathTemplate t;
    std::string error;
    EXPECT_FALSE(t.parse(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

}  // namespace
}  // namespace portico::grpc_gateway
