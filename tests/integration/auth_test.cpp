// The plugin engine and the auth plugins with real sockets: key-auth, basic-auth, acl,
// anonymous fallback, several auth plugins on one route, scope precedence, identity
// headers as the upstream sees them, hide_credentials.
#include <gtest/gtest.h>

#include <cstdio>

#include "crypto/base64.hpp"
#include "plugin/counters.hpp"
#include "support/fixture_upstream.hpp"
#include "support/gateway_harness.hpp"
#include "support/raw_client.hpp"

namespace portico::test {
namespace {

Response get(int port, const std::string& target, const std::string& extra = "") {
  RawConnection c(port);
  c.send("GET " + target + " HTTP/1.1\r\nHost: gw.test\r\n" + extra + "\r\n");
  return c.read_response();
}

std::string basic(const std::string& user_colon_password) {
  return "Authorization: Basic " + crypto::base64_encode(user_colon_password) + "\r\n";
}

// Consumers used by most tests.
const char* kConsumers = R"(
consumers:
- username: alice
  custom_id: cust-alice
  keyauth_credentials:
  - key: alice-key
    id: 11111111-1111-1111-1111-111111111111
  basicauth_credentials:
  - username: alice
    password: wonderland
  acls:
  - group: admins
  - group: staff
- username: bob
  keyauth_credentials:
  - key: bob-key
  acls:
  - group: guests
- username: anon
  id: 99999999-9999-9999-9999-999999999999
)";

std::string config(int upstream_port, const std::string& route_plugins, const std::string& extra = "") {
  return "_format_version: \"3.0\"\nservices:\n- name: svc\n  url: http://127.0.0.1:" + std::to_string(upstream_port) +
         "\n  routes:\n  - name: r\n    paths: [/]\n    plugins:\n" + route_plugins + kConsumers + extra;
}

TEST(KeyAuth, RejectsMissingAndWrongKeysWithoutTouchingTheUpstream) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: key-auth\n"));
  auto missing = get(gw.port(), "/x");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.body, R"({"message":"No API key found in request"})");
  EXPECT_EQ(missing.field("www-authenticate"), "Key");
  auto wrong = get(gw.port(), "/x", "apikey: nope\r\n");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, R"({"message":"Unauthorized"})");
  auto twice = get(gw.port(), "/x?apikey=a&apikey=b");
  EXPECT_EQ(twice.status, 401);
  EXPECT_EQ(twice.body, R"({"message":"Duplicate API key found"})");
  EXPECT_EQ(up.request_count(), 0u);
}

TEST(KeyAuth, ForwardsKongIdentityHeadersAndDropsClientCopies) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: key-auth\n"));
  auto r = get(gw.port(), "/x", "apikey: alice-key\r\nX-Consumer-Username: mallory\r\nX-Anonymous-Consumer: true\r\n"
                                "X-Credential-Identifier: forged\r\nX-Consumer-Groups: admins\r\n");
  ASSERT_EQ(r.status, 200);
  auto seen = up.requests().at(0);
  EXPECT_EQ(seen.header("x-consumer-username"), "alice");
  EXPECT_EQ(seen.count("x-consumer-username"), 1);
  EXPECT_EQ(seen.header("x-consumer-custom-id"), "cust-alice");
  EXPECT_EQ(seen.header("x-consumer-id").size(), 36u);
  EXPECT_EQ(seen.header("x-credential-identifier"), "11111111-1111-1111-1111-111111111111");
  EXPECT_EQ(seen.count("x-anonymous-consumer"), 0);
  EXPECT_EQ(seen.count("x-consumer-groups"), 0);  // no acl on the route: no groups, and not the client's
  EXPECT_EQ(seen.header("apikey"), "alice-key");  // hide_credentials is off
}

TEST(KeyAuth, KeyInQueryAndHideCredentials) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: key-auth\n      config: {hide_credentials: true, key_names: [apikey, x-key]}\n"));
  ASSERT_EQ(get(gw.port(), "/x?a=1&apikey=bob-key&b=2").status, 200);
  ASSERT_EQ(get(gw.port(), "/y", "X-Key: bob-key\r\n").status, 200);
  auto requests = up.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, "/x?a=1&b=2");
  EXPECT_EQ(requests[0].header("x-consumer-username"), "bob");
  EXPECT_EQ(requests[1].count("x-key"), 0);
}

Response post(int port, const std::string& target, const std::string& type, const std::string& body,
              bool chunked = false) {
  RawConnection c(port);
  std::string head = "POST " + target + " HTTP/1.1\r\nHost: gw.test\r\nContent-Type: " + type + "\r\n";
  if (chunked) {
    c.send(head + "Transfer-Encoding: chunked\r\n\r\n");
    std::size_t half = body.size() / 2;
    char line[32];
    std::snprintf(line, sizeof line, "%zx\r\n", half);
    c.send(line + body.substr(0, half) + "\r\n");
    std::snprintf(line, sizeof line, "%zx\r\n", body.size() - half);
    c.send(line + body.substr(half) + "\r\n0\r\n\r\n");
  } else {
    c.send(head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  return c.read_response();
}

TEST(KeyAuth, KeyInFormAndJsonBodiesHiddenFromTheUpstream) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: key-auth\n      config: {key_in_body: true, hide_credentials: true}\n"));
  ASSERT_EQ(post(gw.port(), "/form", "application/x-www-form-urlencoded", "a=1&apikey=bob%2Dkey&b=2").status, 200);
  ASSERT_EQ(post(gw.port(), "/json", "application/json", R"({"apikey":"alice-key","n":1})").status, 200);
  ASSERT_EQ(post(gw.port(), "/chunked", "application/x-www-form-urlencoded", "apikey=bob-key&x=yz", true).status, 200);
  EXPECT_EQ(post(gw.port(), "/none", "application/x-www-form-urlencoded", "a=1").status, 401);
  EXPECT_EQ(post(gw.port(), "/twice", "application/x-www-form-urlencoded", "apikey=bob-key&apikey=bob-key").status, 401);
  EXPECT_EQ(post(gw.port(), "/text", "text/plain", "apikey=bob-key").status, 401);  // not a form: not read for keys
  auto requests = up.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].body, "a=1&b=2");
  EXPECT_EQ(requests[0].header("content-length"), "7");
  EXPECT_EQ(requests[0].header("x-consumer-username"), "bob");
  EXPECT_EQ(requests[1].body, R"({"n":1})");
  EXPECT_EQ(requests[1].header("x-consumer-username"), "alice");
  EXPECT_EQ(requests[2].body, "x=yz");  // a chunked body goes upstream with a Content-Length
  EXPECT_EQ(requests[2].count("transfer-encoding"), 0);
}

TEST(KeyAuth, KeyInBodyLeavesOtherRequestsStreaming) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: key-auth\n      config: {key_in_body: true}\n"));
  // The key in a header: the body is still read (as in Kong) and forwarded unchanged.
  RawConnection c(gw.port());
  c.send("POST /x HTTP/1.1\r\nHost: gw.test\r\napikey: bob-key\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(up.requests().at(0).body, "hello");
  // GET without a body: no reading at all.
  EXPECT_EQ(get(gw.port(), "/x", "apikey: bob-key\r\n").status, 200);
}

TEST(KeyAuth, PreflightSkippedOnlyWhenConfigured) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: key-auth\n      config: {run_on_preflight: false}\n"));
  RawConnection c(gw.port());
  c.send("OPTIONS /x HTTP/1.1\r\nHost: gw.test\r\nOrigin: http://a\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(get(gw.port(), "/x").status, 401);
}

TEST(BasicAuth, ChallengesChecksAndHidesCredentials) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: basic-auth\n      config: {hide_credentials: true}\n"));
  auto none = get(gw.port(), "/x");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.field("www-authenticate"), "Basic realm=\"service\"");
  EXPECT_EQ(get(gw.port(), "/x", basic("alice:wrong")).status, 401);
  EXPECT_EQ(get(gw.port(), "/x", basic("nobody:wonderland")).status, 401);
  EXPECT_EQ(get(gw.port(), "/x", "Authorization: Basic !!!\r\n").status, 401);
  EXPECT_EQ(get(gw.port(), "/x", "Authorization: Bearer abc\r\n").status, 401);
  EXPECT_EQ(up.request_count(), 0u);
  // Case-insensitive scheme (RFC 7617); a password may contain ':'.
  auto ok = get(gw.port(), "/x", "Authorization: bAsIc " + basic("alice:wonderland").substr(21));
  ASSERT_EQ(ok.status, 200);
  auto seen = up.requests().at(0);
  EXPECT_EQ(seen.count("authorization"), 0);
  EXPECT_EQ(seen.header("x-credential-identifier"), "alice");
  EXPECT_EQ(seen.header("x-consumer-username"), "alice");
}

TEST(BasicAuth, RemembersVerdictsSoRepeatedRequestsSkipTheSlowHash) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: basic-auth\n"));
  auto& slow_checks = plugin::counter("basic_auth_slow_checks");  // process-wide: compare before and after
  auto before = slow_checks.load();
  // At most one PBKDF2 for 20 good requests (none if an earlier test left the verdict:
  // the cache is the process's and outlives configurations).
  for (int i = 0; i < 20; ++i) ASSERT_EQ(get(gw.port(), "/x", basic("alice:wonderland")).status, 200);
  auto after_good = slow_checks.load();
  EXPECT_LE(after_good - before, 1u);
  // A repeated wrong password costs one PBKDF2, then none; a new guess costs one more.
  for (int i = 0; i < 20; ++i) ASSERT_EQ(get(gw.port(), "/x", basic("alice:remembered-guess")).status, 401);
  EXPECT_EQ(slow_checks.load() - after_good, 1u);
  EXPECT_EQ(get(gw.port(), "/x", basic("alice:another-guess")).status, 401);
  EXPECT_EQ(slow_checks.load() - after_good, 2u);
}

TEST(Acl, AllowsDeniesAndForwardsGroups) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: key-auth\n    - name: acl\n      config: {allow: [admins]}\n"));
  auto denied = get(gw.port(), "/x", "apikey: bob-key\r\n");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.body, R"({"message":"You cannot consume this service"})");
  EXPECT_EQ(up.request_count(), 0u);
  ASSERT_EQ(get(gw.port(), "/x", "apikey: alice-key\r\nX-Consumer-Groups: root\r\n").status, 200);
  auto seen = up.requests().at(0);
  EXPECT_EQ(seen.header("x-consumer-groups"), "admins, staff");
  EXPECT_EQ(seen.count("x-consumer-groups"), 1);
}

TEST(Acl, DenyListAndHiddenGroupsHeader) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: key-auth\n    - name: acl\n      config: {deny: [guests], hide_groups_header: true}\n"));
  EXPECT_EQ(get(gw.port(), "/x", "apikey: bob-key\r\n").status, 403);
  ASSERT_EQ(get(gw.port(), "/x", "apikey: alice-key\r\nX-Consumer-Groups: root\r\n").status, 200);
  EXPECT_EQ(up.requests().at(0).count("x-consumer-groups"), 0);
}

TEST(Acl, WithoutAnAuthPluginAnswers401) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: acl\n      config: {allow: [admins]}\n"));
  auto r = get(gw.port(), "/x");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, R"({"message":"Unauthorized"})");
}

TEST(Anonymous, FallsBackToTheAnonymousConsumer) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: key-auth\n      config: {anonymous: anon}\n"));
  ASSERT_EQ(get(gw.port(), "/x", "apikey: wrong\r\nX-Credential-Identifier: forged\r\n").status, 200);
  auto seen = up.requests().at(0);
  EXPECT_EQ(seen.header("x-anonymous-consumer"), "true");
  EXPECT_EQ(seen.header("x-consumer-username"), "anon");
  EXPECT_EQ(seen.header("x-consumer-id"), "99999999-9999-9999-9999-999999999999");
  EXPECT_EQ(seen.count("x-credential-identifier"), 0);
}

TEST(Anonymous, AnyOneAuthPluginPassingIsEnough) {
  // Kong's "logical OR": both plugins have anonymous; acl then refuses the anonymous consumer.
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(),
                           "    - name: key-auth\n      config: {anonymous: anon}\n"
                           "    - name: basic-auth\n      config: {anonymous: anon}\n"
                           "    - name: acl\n      config: {deny: [nobody-is-here]}\n"
                           "    - name: circuit-breaker\n"));
  ASSERT_EQ(get(gw.port(), "/x", "apikey: bob-key\r\n").status, 200);             // key-auth passes
  ASSERT_EQ(get(gw.port(), "/x", basic("alice:wonderland")).status, 200);        // basic-auth passes
  ASSERT_EQ(get(gw.port(), "/x").status, 200);                                    // neither: anonymous
  auto requests = up.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].header("x-consumer-username"), "bob");
  EXPECT_EQ(requests[0].count("x-anonymous-consumer"), 0);
  EXPECT_EQ(requests[1].header("x-consumer-username"), "alice");
  EXPECT_EQ(requests[1].count("x-anonymous-consumer"), 0);
  EXPECT_EQ(requests[2].header("x-consumer-username"), "anon");
  EXPECT_EQ(requests[2].header("x-anonymous-consumer"), "true");
}

TEST(Anonymous, WithoutAnonymousEveryAuthPluginMustPass) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: key-auth\n    - name: basic-auth\n"));
  EXPECT_EQ(get(gw.port(), "/x", "apikey: alice-key\r\n").status, 401);
  EXPECT_EQ(get(gw.port(), "/x", "apikey: alice-key\r\n" + basic("alice:wonderland")).status, 200);
}

TEST(Scopes, MostSpecificConfigurationWins) {
  FixtureUpstream up;
  // Global key-auth with the default key name; the route's own entry (x-key) wins there;
  // the second route falls back to the service's, which is disabled: the global one applies.
  std::string yaml = "_format_version: \"3.0\"\nservices:\n- name: svc\n  url: http://127.0.0.1:" +
                     std::to_string(up.port()) +
                     "\n  plugins:\n  - name: key-auth\n    enabled: false\n  routes:\n"
                     "  - name: r1\n    paths: [/one]\n    plugins:\n    - name: key-auth\n      config: {key_names: [x-key]}\n"
                     "  - name: r2\n    paths: [/two]\n" +
                     std::string(kConsumers) + "plugins:\n- name: key-auth\n";
  GatewayHarness gw(yaml);
  EXPECT_EQ(get(gw.port(), "/one", "apikey: bob-key\r\n").status, 401);
  EXPECT_EQ(get(gw.port(), "/one", "x-key: bob-key\r\n").status, 200);
  EXPECT_EQ(get(gw.port(), "/two", "x-key: bob-key\r\n").status, 401);
  EXPECT_EQ(get(gw.port(), "/two", "apikey: bob-key\r\n").status, 200);
}

TEST(Config, AuthPluginErrorsNameTheField) {
  FixtureUpstream up;
  GatewayHarness gw(config(up.port(), "    - name: key-auth\n"));
  auto errors = gw.rewrite_and_reload(config(up.port(), "    - name: key-auth\n      config: {anonymous: ghost}\n"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("routes[0].plugins[0].config.anonymous: no consumer with id or username 'ghost'"),
            std::string::npos)
      << errors[0];
  errors = gw.rewrite_and_reload(config(up.port(), "    - name: acl\n      config: {allow: [a], deny: [b]}\n"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("set either 'allow' or 'deny', not both"), std::string::npos) << errors[0];
  errors = gw.rewrite_and_reload(config(up.port(), "    - name: key-auth\n      consumer: bob\n"));
  ASSERT_EQ(errors.size(), 1u);
  // Still the first configuration: key-auth enforced.
  EXPECT_EQ(get(gw.port(), "/x").status, 401);
}

}  // namespace
}  // namespace portico::test
