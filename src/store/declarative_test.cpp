// Export then import is the identity: a declarative file, moved into store rows and loaded
// back (what `portico config db_import` then `portico run` does), or written out as a
// declarative file and read again (db_export), gives the same configuration.
#include "store/declarative.hpp"

#include <gtest/gtest.h>

#include "store/test_ca_certificate.hpp"

#include <fstream>
#include <sstream>

#include "config/export.hpp"
#include "net/tls.hpp"

namespace portico::store {
namespace {

namespace json = boost::json;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every field kind the exporter writes: url and host services, retries, route headers, hosts
// and methods, an upstream with hashing and both health checks, consumers with each
// credential kind that can be exported, plugins on each scope.
using portico::store::testing::kTestCaPem;

const char* kRich = R"(
_format_version: "3.0"
services:
- name: a
  url: http://127.0.0.1:9001/base
  retries: 2
  retry_on_statuses: [502, 503]
  retry_budget_percent: 20
  retry_budget_min_per_second: 5
  request_timeout: 3000
  tags: [t1, t2]
  routes:
  - name: a-route
    paths: ["~/items/(?<item>\\d+)$", /a]
    hosts: [example.com, "*.example.org"]
    methods: [GET, POST]
    headers: {X-Version: [v2, "~*^v3"]}
    strip_path: false
    preserve_host: true
    regex_priority: 5
    plugins:
    - name: acl
      config: {allow: [gold]}
- name: b
  host: pool
  port: 8080
  path: /v1
  protocol: http
  enabled: false
  plugins:
  - name: circuit-breaker
    config: {max_failures: 3}
routes:
- name: b-route
  service: b
  paths: [/b]
upstreams:
- name: pool
  algorithm: consistent-hashing
  hash_on: header
  hash_on_header: X-User
  hash_fallback: ip
  max_requests: 100
  healthchecks:
    threshold: 25
    active:
      http_path: /health
      timeout: 2.5
      headers: {X-Probe: [probe-1]}
      healthy: {interval: 5, successes: 2}
      unhealthy: {interval: 2, tcp_failures: 2, http_failures: 3}
    passive:
      unhealthy: {http_failures: 5, fail_timeout: 10}
  targets:
  - target: 127.0.0.1:9001
    weight: 50
  - target: 127.0.0.1:9002
consumers:
- username: alice
  custom_id: A1
  tags: [vip]
  keyauth_credentials:
  - key: alice-key
  jwt_secrets:
  - key: alice-iss
    secret: s3cr3t
  acls:
  - group: gold
  basicauth_credentials:
  - username: alice
    password: correct horse
- custom_id: only-custom
plugins:
- name: key-auth
  service: a
  config: {key_names: [apikey, x-api-key], hide_credentials: true}
- name: jwt
  route: b-route
)";

json::object exported(const config::DeclarativeConfig& c) { return config::declarative_json(c); }

void expect_identity(const std::string& text, const std::string& name) {
  auto original = config::load_declarative_text(text, name);
  ASSERT_TRUE(original.ok()) << original.errors.front().to_string();
  json::object expected = exported(original.config);

  // Into store rows and back.
  auto rows = rows_from_config(original.config, 1700000000);
  auto from_rows = load_rows(rows);
  ASSERT_TRUE(from_rows.ok()) << name << ": " << from_rows.errors.front().to_string() << "\n" << compose(rows).text;
  EXPECT_EQ(json::serialize(exported(from_rows.config)), json::serialize(expected)) << name;

  // Out as a declarative document and read again.
  auto again = config::load_declarative_text(json::serialize(expected), name + " (exported)");
  ASSERT_TRUE(again.ok()) << name << ": " << again.errors.front().to_string();
  EXPECT_EQ(json::serialize(exported(again.config)), json::serialize(expected)) << name;
}

TEST(DeclarativeStore, ExportImportIdentityOnARichConfiguration) { expect_identity(kRich, "rich.yml"); }

TEST(DeclarativeStore, ExportImportIdentityOnTheShippedConfigurations) {
  for (const char* file : {"examples/kong.yml", "bench/conf/kong.yml", "bench/conf/kong-3targets.yml"}) {
    std::string text = read_file(std::string(PORTICO_SOURCE_DIR) + "/" + file);
    // The benchmark files are templates: bench/run.sh fills in the backend's port.
    for (std::size_t at; (at = text.find("@BACKEND@")) != std::string::npos;) text.replace(at, 9, "9000");
    ASSERT_FALSE(text.empty()) << file;
    expect_identity(text, file);
  }
}

TEST(DeclarativeStore, ExportImportIdentityWithCertificates) {
  auto a = net::self_signed_certificate(), b = net::self_signed_certificate();
  json::object doc{{"_format_version", "3.0"},
                   {"certificates", json::array{json::object{{"cert", a.cert_pem},
                                                             {"key", a.key_pem},
                                                             {"tags", json::array{"edge"}},
                                                             {"snis", json::array{"x.test", json::object{{"name", "*.y.test"}}}}},
                                                json::object{{"id", "dddddddd-0000-4000-8000-000000000001"},
                                                             {"cert", b.cert_pem},
                                                             {"key", b.key_pem}}}},
                   {"snis", json::array{json::object{{"name", "*"},
                                                     {"certificate", json::object{{"id", "dddddddd-0000-4000-8000-000000000001"}}}}}}};
  // An https service with Kong's TLS fields, and the CA certificate it trusts.
  doc["ca_certificates"] = json::array{json::object{{"id", "dddddddd-0000-4000-8000-000000000002"}, {"cert", kTestCaPem},
                                                    {"tags", json::array{"trust"}}}};
  doc["services"] = json::array{json::object{{"name", "secure"}, {"url", "https://h.test"}, {"tls_verify", true},
                                             {"tls_verify_depth", 3},
                                             {"ca_certificates", json::array{"dddddddd-0000-4000-8000-000000000002"}},
                                             {"client_certificate", json::object{{"id", "dddddddd-0000-4000-8000-000000000001"}}}}};
  expect_identity(json::serialize(doc), "certificates.yml");
  auto loaded = config::load_declarative_text(json::serialize(doc), "certificates.yml");
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().to_string();
  EXPECT_EQ(config::sni_names(loaded.config, loaded.config.certificates[0].id),
            (std::vector<std::string>{"*.y.test", "x.test"}));
  EXPECT_EQ(config::sni_names(loaded.config, "dddddddd-0000-4000-8000-000000000001"), (std::vector<std::string>{"*"}));
}

TEST(DeclarativeStore, IdsAreKeptAndEveryEntityHasOne) {
  auto original = config::load_declarative_text(kRich, "rich.yml");
  ASSERT_TRUE(original.ok());
  auto rows = rows_from_config(original.config, 1);
  for (const auto& r : rows) EXPECT_EQ(r.id.size(), 36u) << r.kind << " " << r.body;
  EXPECT_EQ(rows.front().kind, "services");
  EXPECT_EQ(rows.front().id, original.config.services[0].id);
  EXPECT_EQ(rows.front().name, "a");
}

TEST(DeclarativeStore, ComposeLocatesTheFocusEntity) {
  std::vector<Entity> rows = {
      {"services", "11111111-1111-4111-8111-111111111111", "s", R"({"name":"s","host":"h"})", 1, 1},
      {"upstreams", "22222222-2222-4222-8222-222222222222", "h", R"({"name":"h"})", 1, 1},
      {"targets", "33333333-3333-4333-8333-333333333333", "",
       R"({"target":"127.0.0.1:1","upstream":{"id":"22222222-2222-4222-8222-222222222222"}})", 1, 1},
      {"routes", "44444444-4444-4444-8444-444444444444", "",
       R"({"paths":["/x"],"service":{"id":"11111111-1111-4111-8111-111111111111"},"created_at":5})", 1, 1},
  };
  EXPECT_EQ(compose(rows, "44444444-4444-4444-8444-444444444444").focus_path, "routes[0]");
  EXPECT_EQ(compose(rows, "33333333-3333-4333-8333-333333333333").focus_path, "upstreams[0].targets[0]");
  auto loaded = load_rows(rows);
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().to_string();
  ASSERT_EQ(loaded.config.upstreams.size(), 1u);
  EXPECT_EQ(loaded.config.upstreams[0].targets.at(0).id, "33333333-3333-4333-8333-333333333333");
  EXPECT_EQ(loaded.config.routes.at(0).service_index, 0u);
}

TEST(DeclarativeStore, ATargetWithoutItsUpstreamIsAnError) {
  std::vector<Entity> rows = {{"targets", "33333333-3333-4333-8333-333333333333", "",
                               R"({"target":"127.0.0.1:1","upstream":{"id":"nope"}})", 1, 1}};
  auto loaded = load_rows(rows);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.errors[0].message.find("names no stored upstream"), std::string::npos);
}

TEST(DeclarativeStore, RowErrorsNameTheEntityPath) {
  std::vector<Entity> rows = {
      {"services", "11111111-1111-4111-8111-111111111111", "s", R"({"name":"s","host":"h","port":70000})", 1, 1}};
  std::string focus;
  auto loaded = load_rows(rows, "11111111-1111-4111-8111-111111111111", &focus);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(focus, "services[0]");
  EXPECT_EQ(loaded.errors[0].path, "services[0].port");
}

}  // namespace
}  // namespace portico::store
