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
  TestPlugins() {
    plugin::register_extra_schema(early.get());
    plugin::register_extra_schema(body.get());
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

}  // namespace
}  // namespace portico::test
