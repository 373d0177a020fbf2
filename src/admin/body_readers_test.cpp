#include "admin/body_readers.hpp"

#include <gtest/gtest.h>

#include "admin/kong_errors.hpp"

namespace portico::admin {
namespace {

namespace json = boost::json;

json::value form(std::string_view body) {
  auto r = read_form_body(body);
  EXPECT_TRUE(r.ok()) << body << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : json::value();
}

std::string form_error(std::string_view body) {
  auto r = read_form_body(body);
  EXPECT_FALSE(r.ok()) << body;
  return r.ok() ? "" : r.error().message;
}

TEST(FormBody, KongConventions) {
  EXPECT_EQ(form("name=user-service&url=http%3A%2F%2Fuser-service%3A8080"),
            json::parse(R"({"name":"user-service","url":"http://user-service:8080"})"));
  EXPECT_EQ(form("paths[]=/users&paths[]=/u"), json::parse(R"({"paths":["/users","/u"]})"));
  EXPECT_EQ(form("paths[2]=/b&paths[1]=/a"), json::parse(R"({"paths":["/a","/b"]})"));
  EXPECT_EQ(form("tags=a&tags=b&tags=c"), json::parse(R"({"tags":["a","b","c"]})"));
  EXPECT_EQ(form("name=rate-limiting&config.minute=100&config.policy=local"),
            json::parse(R"({"name":"rate-limiting","config":{"minute":"100","policy":"local"}})"));
  EXPECT_EQ(form("config.key_names[]=apikey&config.key_names[]=x-key"),
            json::parse(R"({"config":{"key_names":["apikey","x-key"]}})"));
  EXPECT_EQ(form("service.id=abc"), json::parse(R"({"service":{"id":"abc"}})"));
  EXPECT_EQ(form("targets[1].target=a:80&targets[1].weight=5"), json::parse(R"({"targets":[{"target":"a:80","weight":"5"}]})"));
  EXPECT_EQ(form("a=x+y&b="), json::parse(R"({"a":"x y","b":null})"));  // empty: unset, as Kong
  EXPECT_EQ(form(""), json::parse("{}"));
}

TEST(FormBody, ContradictionsAndHostileKeysAreErrors) {
  EXPECT_NE(form_error("a=1&a.b=2").find("form field 'a.b' conflicts"), std::string::npos);
  EXPECT_NE(form_error("a.b=2&a=1").find("conflicts"), std::string::npos);
  EXPECT_NE(form_error("a[1]=x&a[1]=y").find("conflicts"), std::string::npos);
  EXPECT_NE(form_error("a[x]=1").find("invalid form field name 'a[x]'"), std::string::npos);
  EXPECT_NE(form_error("a[0]=1").find("invalid form field name"), std::string::npos);  // Kong's indices start at 1
  EXPECT_NE(form_error("a[99999999999999999999]=1").find("invalid form field name"), std::string::npos);
  EXPECT_NE(form_error("a..b=1").find("invalid form field name"), std::string::npos);
  EXPECT_NE(form_error("[]=1").find("invalid form field name"), std::string::npos);
  EXPECT_NE(form_error("a[1=1").find("invalid form field name"), std::string::npos);
  EXPECT_NE(form_error("a=%zz").find("malformed percent-encoding in form field 'a'"), std::string::npos);
  EXPECT_NE(form_error("a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q=1").find("invalid form field name"), std::string::npos);
  // A small body cannot make a huge tree.
  std::string many;
  for (int i = 0; i < 20; ++i) many += "k" + std::to_string(i) + "[10000]=x&";
  EXPECT_NE(form_error(many).find("too many array elements"), std::string::npos);
}

TEST(JsonBody, OneObjectWithBoundedDepth) {
  auto ok = read_json_body(R"({"name":"s","config":{"minute":100}})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->at("config").at("minute"), 100);
  EXPECT_EQ(read_json_body("{").error().message, "Cannot parse JSON body");
  EXPECT_EQ(read_json_body("[1]").error().message, "Cannot parse JSON body: expected an object");
  EXPECT_EQ(read_json_body(std::string(100, '[') + std::string(100, ']')).error().status, 400);
  EXPECT_FALSE(read_json_body(R"({"a":1} trailing)").ok());
}

TEST(KongErrors, SchemaViolationShape) {
  schema::Errors errors{{"name", "required field missing"},
                        {"config.minute", "expected a number"},
                        {"config.key_names[1]", "not a valid header name"},
                        {"config", "set one of 'allow' or 'deny'"},
                        {"", "at least one of these fields must be non-empty: 'paths'"}};
  json::object body = schema_violation(errors);
  EXPECT_EQ(body.at("code"), 2);
  EXPECT_EQ(body.at("name"), "schema violation");
  EXPECT_EQ(body.at("fields"), json::parse(R"({"name":"required field missing",
    "config":{"minute":"expected a number","key_names":[null,"not a valid header name"],
              "@entity":["set one of 'allow' or 'deny'"]},
    "@entity":["at least one of these fields must be non-empty: 'paths'"]})"));
  EXPECT_EQ(body.at("message"),
            "5 schema violations (name: required field missing; config.minute: expected a number; "
            "config.key_names[1]: not a valid header name; config: set one of 'allow' or 'deny'; "
            "at least one of these fields must be non-empty: 'paths')");
  EXPECT_EQ(schema_violation({{"name", "required field missing"}}).at("message"),
            "schema violation (name: required field missing)");
  // A record check's error is the record's own, even when no field of it failed.
  EXPECT_EQ(schema_violation({{"config", "set one of 'allow' or 'deny'", schema::FieldError::Subject::record}}).at("fields"),
            json::parse(R"({"config":{"@entity":["set one of 'allow' or 'deny'"]}})"));
}

TEST(KongErrors, PathsWithUserChosenKeysStayNames) {
  // Map keys and unknown fields come from the client: "[huge]" must not become an index.
  for (const char* key : {"[99999999999999999999]", "[200000000]", "[4294967295]", "[x]", "["}) {
    json::object body = schema_violation({{std::string("config.") + key, "unknown field"}});
    EXPECT_TRUE(body.at("fields").at("config").is_object()) << key << " " << json::serialize(body);
  }
  EXPECT_EQ(schema_violation({{"config.key_names[2]", "bad"}}).at("fields"),
            json::parse(R"({"config":{"key_names":[null,null,"bad"]}})"));
}

TEST(MultipartBody, PartsAreFormFields) {
  std::string body =
      "--b0undary\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nsvc\r\n"
      "--b0undary\r\ncontent-disposition: form-data; name=\"tags[]\"\r\nContent-Type: text/plain\r\n\r\na\r\n"
      "--b0undary\r\nContent-Disposition: form-data; name=\"tags[]\"\r\n\r\nb\r\n"
      "--b0undary\r\nContent-Disposition: form-data; name=\"config.minute\"\r\n\r\n100\r\n"
      "--b0undary--\r\n";
  auto v = read_multipart_body("multipart/form-data; boundary=b0undary", body);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, json::parse(R"({"name":"svc","tags":["a","b"],"config":{"minute":"100"}})"));
  // Through the Content-Type dispatch too, with a quoted boundary.
  auto r = read_request_body("multipart/form-data; boundary=\"b0undary\"", body);
  ASSERT_TRUE(r.value.ok());
  EXPECT_EQ(r.input, schema::Input::text);
}

TEST(MultipartBody, MalformedBodiesAreRefusedWithTheReason) {
  auto bad = [](std::string_view type, std::string_view body) {
    auto v = read_multipart_body(type, body);
    return v.ok() ? std::string("accepted") : v.error().message;
  };
  EXPECT_EQ(bad("multipart/form-data", "x"), "multipart/form-data body without a valid boundary");
  EXPECT_EQ(bad("multipart/form-data; boundary=q", "no delimiter"), "multipart/form-data body without its boundary");
  EXPECT_EQ(bad("multipart/form-data; boundary=q", "--q\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue"),
            "multipart/form-data body is not terminated");
  EXPECT_EQ(bad("multipart/form-data; boundary=q", "--q\r\nContent-Type: text/plain\r\n\r\nv\r\n--q--"),
            "multipart/form-data part without a name");
  EXPECT_EQ(read_request_body("text/plain", "x").status, 415);
}

}  // namespace
}  // namespace portico::admin
