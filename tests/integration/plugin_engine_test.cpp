// The plugin engine through real sockets, with test plugins (plugin/test_plugins.hpp)
// registered by name: phase order, short-circuits, the awaited access path, response
// header and whole-body phases over content-length, chunked and close-delimited bodies.
#include <gtest/gtest.h>

#include "plugin/registry.hpp"
#include "plugin/test_plugins.hpp"
#include "support/fixture_upstream.hpp"
#include "support/gateway_harness.hpp"
#include "support/raw_client.hpp"

namespace portico::test {
namespace {

// Registered once for the whole test binary (find_schema() looks them up by name).
struct TestPlugins {
  std::unique_ptr<plugin::Schema> early = plugin::testing::make_noop_schema(
      "test-early", 3000, plugin::kAccess | plugin::kResponseHeaders | plugin::kLog);
  std::unique_ptr<plugin::Schema> body = plugin::testing::make_noop_schema(
      "test-body", 10, plugin::kAccess | plugin::kResponseHeaders | plugin::kResponseBody);
  std::unique_ptr<plugin::Schema> auth = plugin::testing::make_noop_schema(
      "test-auth", 1500, plugin::kAccess, plugin::kGlobal | plugin::kService | plugin::kRoute);
  TestPlugins() {
    plugin::register_extra_schema(early.get());
    plugin::register_extra_schema(body.get());
    plugin::register_extra_schema(auth.get());
  }
};
const TestPlugins& test_plugins() {
  static TestPlugins plugins;
  return plugins;
}

Response get(int port, const std::string& target) {
  RawConnection c(port);
  c.send("GET " + target + " HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  return c.read_response();
}

std::string config(int port, const std::string& plugins) {
  test_plugins();
  return "_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:" + std::to_string(port) +
         "\n  routes:\n  - paths: [/]\n    plugins:\n" + plugins;
}

TEST(PluginEngine, ResponseBodyPluginsSeeWholeBodiesOfEveryFraming) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: test-body\n      config: {body_suffix: \"<end>\", response_header: b}\n"
                                      "    - name: test-early\n      config: {response_header: e}\n"));
  for (std::string path : {"/bytes/3000", "/chunked/3", "/close"}) {
    RawConnection c(gw.port());
    c.send("GET " + path + " HTTP/1.1\r\nHost: gw.test\r\n\r\n");
    auto r = c.read_response();
    ASSERT_EQ(r.status, 200) << path;
    ASSERT_GE(r.body.size(), 5u) << path;
    EXPECT_EQ(r.body.substr(r.body.size() - 5), "<end>") << path;
    EXPECT_EQ(r.field("content-length"), std::to_string(r.body.size())) << path;
    EXPECT_EQ(r.count("transfer-encoding"), 0) << path;
    EXPECT_EQ(r.count("x-test-plugin"), 2) << path;  // both plugins' response_headers ran
  }
  auto bytes = get(gw.port(), "/bytes/3000");
  EXPECT_EQ(bytes.body, std::string(3000, 'x') + "<end>");
  auto chunked = get(gw.port(), "/chunked/3");
  EXPECT_EQ(chunked.body, "chunk-0\nchunk-1\nchunk-2\n<end>");
}

TEST(PluginEngine, AStoredReplyIsSentAsItIsOnAKeptAliveConnection) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: test-early\n      config: {stored_body: \"stored bytes\"}\n"));
  RawConnection c(gw.port());
  c.send("GET /x HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "stored bytes");
  EXPECT_EQ(r.field("content-length"), "12");
  EXPECT_EQ(r.field("x-stored"), "yes");
  EXPECT_EQ(r.field("content-type"), "text/plain");
  c.send("HEAD /x HTTP/1.1\r\nHost: gw.test\r\n\r\n");  // the same connection: kept alive
  auto head = c.read_response(true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.field("content-length"), "12");
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(up.request_count(), 0u);
}

TEST(PluginEngine, ResponsePhasesSeeTheUpstreamResponse) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: test-body\n      config: {echo_upstream_status: true}\n"));
  auto r = get(gw.port(), "/bytes/5");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.field("x-test-upstream"), "200");
  EXPECT_EQ(r.body, "xxxxx|upstream 200");
}

TEST(PluginEngine, AnAccessReplySkipsTheUpstreamAndLaterPlugins) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: test-early\n      config: {reply_status: 418, tag: teapot}\n"
                                      "    - name: test-body\n      config: {body_suffix: x}\n"));
  auto r = get(gw.port(), "/x");
  EXPECT_EQ(r.status, 418);
  EXPECT_EQ(r.body, R"({"message":"teapot"})");
  EXPECT_EQ(up.request_count(), 0u);
}

TEST(PluginEngine, SuspendedAccessIsAwaitedOnTheWorker) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: test-early\n      config: {suspend: true}\n"
                                      "    - name: test-body\n      config: {reply_status: 403, tag: after-wait}\n"));
  auto r = get(gw.port(), "/x");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, R"({"message":"after-wait"})");
  // And without a reply after the wait, the request goes on to the upstream.
  auto ok = gw.rewrite_and_reload(config(up.port(), "    - name: test-early\n      config: {suspend: true}\n"));
  ASSERT_TRUE(ok.empty());
  EXPECT_EQ(get(gw.port(), "/x").status, 200);
  EXPECT_EQ(up.request_count(), 1u);
}

TEST(PluginEngine, ConsumerScopedEntriesApplyOnceAnAuthPluginIdentifiesTheConsumer) {
  FixtureUpstream up;
  // Route: test-body passes. alice has her own test-body entry (nested in the consumer)
  // that answers 429, and bob one at the top level naming him and the route. Who is
  // identified decides which applies: consumer+route beats consumer beats route.
  auto yaml = [&](const std::string& who) {
    return config(up.port(), "    - name: test-auth\n      config: {authenticate: " + who +
                                 "}\n    - name: test-body\n      config: {tag: route}\n") +
           "consumers:\n- username: alice\n  plugins:\n  - name: test-body\n    config: {reply_status: 429, tag: alice}\n"
           "- username: bob\n- username: carol\n"
           "plugins:\n- name: test-body\n  consumer: bob\n  config: {reply_status: 402, tag: bob-anywhere}\n"
           "- name: test-body\n  consumer: bob\n  route: r\n  config: {reply_status: 403, tag: bob-here}\n";
  };
  auto named = [](std::string y) {
    std::string from = "  routes:\n  - paths: [/]\n", to = "  routes:\n  - name: r\n    paths: [/]\n";
    return y.replace(y.find(from), from.size(), to);
  };
  GatewayHarness gw(named(yaml("alice")));
  auto r = get(gw.port(), "/x");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body, R"({"message":"alice"})");
  ASSERT_TRUE(gw.rewrite_and_reload(named(yaml("bob"))).empty());
  r = get(gw.port(), "/x");
  EXPECT_EQ(r.status, 403);  // consumer+route beats consumer alone
  EXPECT_EQ(r.body, R"({"message":"bob-here"})");
  ASSERT_TRUE(gw.rewrite_and_reload(named(yaml("carol"))).empty());
  EXPECT_EQ(get(gw.port(), "/x").status, 200);  // no entry of her own: the route's applies
  EXPECT_EQ(up.request_count(), 1u);
}

TEST(PluginEngine, ScopeAndDuplicateErrorsNameTheEntry) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: test-body\n"));
  auto errors = gw.rewrite_and_reload(config(up.port(), "    - name: test-body\n    - name: test-body\n"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("plugin 'test-body' is configured twice for route"), std::string::npos) << errors[0];
  errors = gw.rewrite_and_reload(config(up.port(), "    - name: test-body\n") +
                                 "consumers:\n- username: a\n  plugins:\n  - name: test-auth\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("plugin 'test-auth' cannot be configured on a consumer"), std::string::npos) << errors[0];
}

}  // namespace
}  // namespace portico::test
