#include <gtest/gtest.h>

#include "http/h1_parser.hpp"
#include "http/forms.hpp"
#include "plugin/request_context.hpp"
#include "plugins/request-transformer/template.hpp"

namespace portico::plugins::request_transformer {
namespace {
using namespace http::forms;

TEST(RequestTransformerTemplate, ReadsKongsDocumentedExpressions) {
  std::string raw = "GET /p?page=2&name=a%20b&tag=x&tag=y HTTP/1.1\r\nHost: h\r\nX-Api-Key: k1\r\nX-Multi: a\r\nX-Multi: b\r\n\r\n";
  http::RequestHead head;
  ASSERT_EQ(http::parse_request_head(raw, http::ParserLimits{}, head).state, http::ParseState::complete);
  plugin::RequestContext ctx;
  ctx.begin(head, "127.0.0.1", head.path, nullptr, nullptr, nullptr);
  auto render = [&](std::string_view text) {
    std::string error;
    auto t = Template::parse(text, error);
    EXPECT_TRUE(t) << text << ": " << error;
    return t ? t->render(ctx) : std::string();
  };
  EXPECT_EQ(render("$(headers.x_api_key)"), "k1");
  EXPECT_EQ(render("$(headers[\"X-Api-Key\"])-$(query_params.page)"), "k1-2");
  EXPECT_EQ(render("$(query_params['name'])"), "a b");
  EXPECT_EQ(render("$(query_params.tag)"), "x, y");
  EXPECT_EQ(render("$(headers.x_multi)"), "a, b");
  EXPECT_EQ(render("$(headers.absent or query_params.absent or 'd')"), "d");
  EXPECT_EQ(render("x$(headers.absent)y"), "xy");
  EXPECT_EQ(render("$('$(uri_captures.user1)')"), "$(uri_captures.user1)");
  EXPECT_EQ(render("#value_with_hash"), "#value_with_hash");
  EXPECT_EQ(render("$(consumer.id or 'nobody')"), "nobody");
  ctx.reset();
}

TEST(RequestTransformerTemplate, RefusesWhatIsNotAReadableExpression) {
  for (std::string_view bad : {"$(uri_captures user2)", "$(string.sub('a', 1))", "$(10 * uri_captures.a)", "$(headers)",
                               "$(shared.x)", "$(headers.a", "$(consumer.password)", "$()", "$(type(headers.x))"}) {
    std::string error;
    EXPECT_FALSE(Template::parse(bad, error)) << bad;
    EXPECT_FALSE(error.empty());
  }
}

TEST(RequestTransformerArgs, KongsOperationsKeepOrder) {
  auto args = parse_args("a=1&b=2&a=3&flag&c=x+y");
  ASSERT_EQ(args.size(), 5u);
  EXPECT_FALSE(args[3].has_value);
  EXPECT_EQ(args[4].value, "x y");
  EXPECT_TRUE(rename_arg(args, "b", "a"));  // the old "a"s give way
  EXPECT_EQ(encode_args(args), "a=2&flag&c=x%20y");
  EXPECT_FALSE(rename_arg(args, "absent", "z"));
  EXPECT_TRUE(replace_arg(args, "a", "9"));
  EXPECT_FALSE(add_arg(args, "a", "0"));
  append_arg(args, "a", "10");
  EXPECT_TRUE(remove_arg(args, "flag"));
  EXPECT_EQ(encode_args(args), "a=9&c=x%20y&a=10");
}

TEST(RequestTransformerMultipart, ParsesAndWritesBack) {
  std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\nContent-Type: text/plain\r\n\r\nline\r\n\r\n"
      "--XyZ--\r\n";
  auto boundary = multipart_boundary("multipart/form-data; boundary=\"XyZ\"");
  ASSERT_TRUE(boundary);
  auto m = parse_multipart(body, *boundary);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->parts.size(), 2u);
  EXPECT_EQ(m->parts[0].name, "a");
  EXPECT_EQ(m->parts[1].name, "file");
  EXPECT_EQ(m->parts[1].body, "line\r\n");
  EXPECT_EQ(write_multipart(*m), body);
  EXPECT_FALSE(parse_multipart("--XyZ\r\nno end", "XyZ"));
  EXPECT_FALSE(parse_multipart("X--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--", "b"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data"));
}

}  // namespace
}  // namespace portico::plugins::request_transformer
