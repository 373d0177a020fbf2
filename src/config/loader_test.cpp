#include "config/loader.hpp"
#include "crypto/password.hpp"
#include "plugins/circuit-breaker/circuit_breaker.hpp"

#include <gtest/gtest.h>

namespace portico::config {
namespace {

LoadResult load(const std::string& yaml) { return load_declarative_text(yaml, "kong.yml"); }

const plugins::CircuitBreakerConfig& breaker_config(const PluginEntry& e) {
  return static_cast<const plugins::CircuitBreakerConfig&>(*e.config);
}

std::string all_errors(const LoadResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += e.to_string() + "\n";
  return s;
}

TEST(Loader, ReadsServicesRoutesUpstreams) {
  auto r = load(R"(_format_version: "3.0"
services:
- name: users
  url: http://users.internal:8080/api
  retries: 3
  read_timeout: 5000
  routes:
  - name: users
    paths: [/users]
    strip_path: false
    preserve_host: true
- name: orders
  host: orders-upstream
  path: /v1
routes:
- name: orders
  service: orders
  paths: [/orders]
  methods: [GET, POST]
  headers:
    X-Version: [v2]
upstreams:
- name: orders-upstream
  targets:
  - target: 127.0.0.1:9001
    weight: 50
  - target: 127.0.0.1:9002
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const auto& c = r.config;
  ASSERT_EQ(c.services.size(), 2u);
  EXPECT_EQ(c.services[0].protocol, "http");
  EXPECT_EQ(c.services[0].host, "users.internal");
  EXPECT_EQ(c.services[0].port, 8080);
  EXPECT_EQ(c.services[0].path, "/api");
  EXPECT_EQ(c.services[0].retries, 3);
  EXPECT_EQ(c.services[0].read_timeout_ms, 5000);
  EXPECT_EQ(c.services[0].connect_timeout_ms, 60000);
  EXPECT_EQ(c.services[1].port, 80);
  EXPECT_EQ(c.services[1].path, "/v1");
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_FALSE(c.routes[0].strip_path);
  EXPECT_TRUE(c.routes[0].preserve_host);
  EXPECT_EQ(c.routes[1].service_index, 1u);
  EXPECT_TRUE(c.routes[1].strip_path);  // Kong default
  EXPECT_EQ(c.routes[1].headers.at("x-version")[0], "v2");
  ASSERT_EQ(c.upstreams.size(), 1u);
  EXPECT_EQ(c.upstreams[0].targets[0].weight, 50);
  EXPECT_EQ(c.upstreams[0].targets[1].weight, 100);
  EXPECT_EQ(c.upstreams[0].targets[1].port, 9002);
  EXPECT_EQ(c.hash.size(), 32u);
  EXPECT_EQ(c.services[0].id.size(), 36u);
}

struct ErrorCase {
  const char* name;
  const char* yaml;
  const char* expected;  // substring of "FILE:LINE:COL: path: message"
};

class ReportsErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ReportsErrors, WithFileLineColumnAndPath) {
  auto r = load(GetParam().yaml);
  ASSERT_FALSE(r.ok()) << GetParam().name;
  std::string all = all_errors(r);
  EXPECT_NE(all.find(GetParam().expected), std::string::npos) << GetParam().name << "\n got:\n" << all;
}

INSTANTIATE_TEST_SUITE_P(
    Loader, ReportsErrors,
    ::testing::Values(
        ErrorCase{"unknown_field", "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  retires: 3\n",
                  "kong.yml:5:3: services[0].retires: unknown field"},
        ErrorCase{"wrong_type", "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  retries: many\n",
                  "kong.yml:5:12: services[0].retries: expected an integer"},
        ErrorCase{"range", "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  port: 70000\n",
                  "services[0].port: value should be between 0 and 65535"},
        ErrorCase{"bad_bool",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  routes:\n  - paths: [/a]\n    strip_path: maybe\n",
                  "kong.yml:7:17: services[0].routes[0].strip_path: expected a boolean"},
        ErrorCase{"bad_regex",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  routes:\n  - paths: [\"~/a(\"]\n",
                  "services[0].routes[0].paths[0]: invalid regex"},
        ErrorCase{"lookbehind_path",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  routes:\n  - paths: [\"~/(?<=v1)/a\"]\n",
                  "kong.yml:6:13: services[0].routes[0].paths[0]: invalid regex '/(?<=v1)/a': lookbehind '(?<=' is not supported: "
                  "regexes run on RE2, which matches in linear time without backtracking"},
        ErrorCase{"lookbehind_header",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  routes:\n  - headers:\n"
                  "      x-version: [v1, \"~*(?<!beta)-v2\"]\n",
                  "kong.yml:7:23: services[0].routes[0].headers.x-version[1]: invalid regex '(?<!beta)-v2': lookbehind '(?<!'"},
        ErrorCase{"bad_path", "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  routes:\n  - paths: [users]\n",
                  "services[0].routes[0].paths[0]: should start with: /"},
        ErrorCase{"route_without_criteria",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  routes:\n  - name: r\n",
                  "must set one of 'methods', 'hosts', 'headers', 'paths'"},
        ErrorCase{"snis_on_http_only_route",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  routes:\n  - protocols: [http]\n"
                  "    paths: [/a]\n    snis: [a.com]\n",
                  "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'"},
        ErrorCase{"unknown_route_protocol",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: ws://x\n  routes:\n  - protocols: [ws, gopher]\n"
                  "    paths: [/a]\n",
                  "kong.yml:6:21: services[0].routes[0].protocols[1]: expected one of: grpc, grpcs, http, https, ws, wss"},
        ErrorCase{"ws_route_without_criteria",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: ws://x\n  routes:\n  - protocols: [ws]\n",
                  "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'ws'"},
        ErrorCase{"unknown_service_protocol", "_format_version: \"3.0\"\nservices:\n- name: a\n  url: gopher://x\n",
                  "services[0].protocol: expected one of: grpc, grpcs, http, https, ws, wss"},
        ErrorCase{"route_sni_with_port",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  routes:\n  - snis: [\"a.com:443\"]\n",
                  "services[0].routes[0].snis[0]: must not have a port"},
        ErrorCase{"unknown_service", "_format_version: \"3.0\"\nroutes:\n- name: r\n  service: nope\n  paths: [/a]\n",
                  "kong.yml:4:12: routes[0].service: no service named 'nope'"},
        ErrorCase{"missing_format", "services: []\n", "_format_version: required field missing"},
        ErrorCase{"old_format", "_format_version: \"1.1\"\n", "unsupported format version"},
        ErrorCase{"no_host", "_format_version: \"3.0\"\nservices:\n- name: a\n", "must set either 'url' or 'host'"},
        ErrorCase{"bad_url", "_format_version: \"3.0\"\nservices:\n- name: a\n  url: \"http://\"\n", "services[0].url"},
        ErrorCase{"url_placeholder", "_format_version: \"3.0\"\nservices:\n- name: a\n  url: \"http://127.0.0.1:@PORT@\"\n",
                  "kong.yml:4:8: services[0].url: url must not contain credentials"},
        ErrorCase{"url_bad_port", "_format_version: \"3.0\"\nservices:\n- name: a\n  url: \"http://127.0.0.1:99999\"\n",
                  "services[0].url: invalid port in url"},
        ErrorCase{"duplicate_name",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n- name: a\n  url: http://y\n",
                  "duplicate service name 'a'"},
        ErrorCase{"plugins_not_yet", "_format_version: \"3.0\"\nplugins:\n- name: datadog\n",
                  "kong.yml:3:9: plugins[0].name: plugin 'datadog' is not supported by Portico"},
        ErrorCase{"proxy_cache_without_strategy", "_format_version: \"3.0\"\nplugins:\n- name: proxy-cache\n",
                  "plugins[0].config.strategy: required field missing"},
        ErrorCase{"proxy_cache_bad_status",
                  "_format_version: \"3.0\"\nplugins:\n- name: proxy-cache\n  config: {strategy: memory, response_code: [99]}\n",
                  "plugins[0].config.response_code[0]: value should be between 100 and 900"},
        ErrorCase{"proxy_cache_ttl", "_format_version: \"3.0\"\nplugins:\n- name: proxy-cache\n  config: {strategy: memory, cache_ttl: -1}\n",
                  "plugins[0].config.cache_ttl: value must be greater than 0"},
        ErrorCase{"proxy_cache_method",
                  "_format_version: \"3.0\"\nplugins:\n- name: proxy-cache\n  config: {strategy: memory, request_method: [get]}\n",
                  "plugins[0].config.request_method[0]: expected one of: HEAD, GET, POST, PATCH, PUT"},
        ErrorCase{"proxy_cache_strategy",
                  "_format_version: \"3.0\"\nplugins:\n- name: proxy-cache\n  config: {strategy: disk}\n",
                  "plugins[0].config.strategy: expected one of: memory, redis"},
        ErrorCase{"proxy_cache_redis_without_host",
                  "_format_version: \"3.0\"\nplugins:\n- name: proxy-cache\n  config: {strategy: redis}\n",
                  "kong.yml:4:11: plugins[0].config.redis.host: required field missing (strategy 'redis'"},
        ErrorCase{"rate_limit_negative", "_format_version: \"3.0\"\nplugins:\n- name: rate-limiting\n  config: {minute: -5}\n",
                  "kong.yml:4:20: plugins[0].config.minute: value must be greater than 0"},
        ErrorCase{"rate_limit_header_without_name",
                  "_format_version: \"3.0\"\nplugins:\n- name: rate-limiting\n  config: {minute: 5, limit_by: header}\n",
                  "plugins[0].config.header_name: required field missing"},
        ErrorCase{"rate_limit_unknown_field",
                  "_format_version: \"3.0\"\nplugins:\n- name: rate-limiting\n  config: {minute: 5, minutes: 6}\n",
                  "kong.yml:4:23: plugins[0].config.minutes: unknown field"},
        ErrorCase{"rate_limit_no_window", "_format_version: \"3.0\"\nplugins:\n- name: rate-limiting\n  config: {policy: local}\n",
                  "at least one of these fields must be non-empty: 'config.second', 'config.minute'"},
        ErrorCase{"rate_limit_order",
                  "_format_version: \"3.0\"\nplugins:\n- name: rate-limiting\n  config: {minute: 100, hour: 50}\n",
                  "The limit for hour(50.0) cannot be lower than the limit for minute(100.0)"},
        ErrorCase{"throttling_without_concurrency",
                  "_format_version: \"3.0\"\nplugins:\n- name: request-throttling\n  config: {queue_size: 3}\n",
                  "plugins[0].config.concurrency: required field missing"},
        ErrorCase{"throttling_zero_queue_timeout",
                  "_format_version: \"3.0\"\nplugins:\n- name: request-throttling\n"
                  "  config: {concurrency: 3, queue_timeout: 0}\n",
                  "plugins[0].config.queue_timeout: value should be between 1 and 600000"},
        ErrorCase{"rate_limit_sliding_log_memory",
                  "_format_version: \"3.0\"\nplugins:\n- name: rate-limiting\n"
                  "  config: {hour: 1000, algorithm: sliding-log}\n",
                  "plugins[0].config.hour: sliding-log with the local policy keeps up to limit x local_max_keys timestamps"},
        ErrorCase{"rate_limit_redis_tls",
                  "_format_version: \"3.0\"\nplugins:\n- name: rate-limiting\n"
                  "  config: {minute: 5, policy: redis, redis: {host: r, ssl: true}}\n",
                  "plugins[0].config.redis.ssl: TLS to Redis is not supported yet by Portico"},
        ErrorCase{"rate_limit_redis_without_host",
                  "_format_version: \"3.0\"\nplugins:\n- name: rate-limiting\n  config: {minute: 5, policy: redis}\n",
                  "plugins[0].config.redis.host: required field missing"},
        ErrorCase{"rate_limit_redis_alias_mismatch",
                  "_format_version: \"3.0\"\nplugins:\n- name: rate-limiting\n"
                  "  config: {minute: 5, redis_host: a, redis: {host: b}}\n",
                  "both deprecated and new field are used but their values mismatch: redis_host = a vs redis.host = b"},
        ErrorCase{"consumer_without_name", "_format_version: \"3.0\"\nconsumers:\n- tags: [x]\n",
                  "kong.yml:3:3: consumers[0]: set at least one of 'username' or 'custom_id'"},
        ErrorCase{"duplicate_key",
                  "_format_version: \"3.0\"\nconsumers:\n- username: a\n  keyauth_credentials:\n  - key: k\n"
                  "- username: b\n  keyauth_credentials:\n  - key: k\n",
                  "kong.yml:8:5: consumers: duplicate key-auth key 'k'"},
        ErrorCase{"jwt_bad_algorithm",
                  "_format_version: \"3.0\"\nconsumers:\n- username: a\n  jwt_secrets:\n  - key: k\n    algorithm: none\n",
                  "kong.yml:6:16: consumers[0].jwt_secrets[0].algorithm: expected one of: HS256"},
        ErrorCase{"jwt_bad_pem",
                  "_format_version: \"3.0\"\nconsumers:\n- username: a\n  jwt_secrets:\n  - key: k\n    algorithm: RS256\n"
                  "    rsa_public_key: not-a-key\n",
                  "kong.yml:7:21: consumers[0].jwt_secrets[0].rsa_public_key: not a PEM public key"},
        ErrorCase{"jwt_hmac_without_secret",
                  "_format_version: \"3.0\"\nconsumers:\n- username: a\n  jwt_secrets:\n  - key: k\n",
                  "consumers[0].jwt_secrets[0].secret: required for algorithm HS256"},
        ErrorCase{"basic_without_password",
                  "_format_version: \"3.0\"\nconsumers:\n- username: a\n  basicauth_credentials:\n  - username: a\n",
                  "consumers[0].basicauth_credentials[0].password: required field missing"},
        ErrorCase{"vaults_not_yet", "_format_version: \"3.0\"\nvaults: []\n",
                  "kong.yml:2:1: vaults: not supported yet by Portico"},
        ErrorCase{"global_breaker", "_format_version: \"3.0\"\nplugins:\n- name: circuit-breaker\n",
                  "kong.yml:3:3: plugins[0]: plugin 'circuit-breaker' cannot be global: set 'service' or 'route'"},
        ErrorCase{"breaker_unknown_service",
                  "_format_version: \"3.0\"\nplugins:\n- name: circuit-breaker\n  service: nope\n",
                  "kong.yml:4:12: plugins[0].service: no service named 'nope'"},
        ErrorCase{"breaker_twice",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  plugins:\n  - name: circuit-breaker\n"
                  "plugins:\n- name: circuit-breaker\n  service: a\n",
                  "kong.yml:8:9: plugins[0]: plugin 'circuit-breaker' is configured twice for service 'a'"},
        ErrorCase{"realm_quote",
                  "_format_version: \"3.0\"\nplugins:\n- name: key-auth\n  config:\n    realm: 'a\"b'\n",
                  "kong.yml:5:12: plugins[0].config.realm: must not contain quotes, backslashes or control characters"},
        ErrorCase{"jwt_claims_to_verify",
                  "_format_version: \"3.0\"\nplugins:\n- name: jwt\n  config:\n    claims_to_verify: [iat]\n",
                  "kong.yml:5:24: plugins[0].config.claims_to_verify[0]: expected one of: exp, nbf"},
        ErrorCase{"unknown_plugin",
                  "_format_version: \"3.0\"\nplugins:\n- name: no-such-plugin\n",
                  "kong.yml:3:9: plugins[0].name: plugin 'no-such-plugin' is not supported by Portico"},
        ErrorCase{"plugin_config_field",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  plugins:\n  - name: circuit-breaker\n"
                  "    config: {max_failures: -1}\n",
                  "kong.yml:7:28: services[0].plugins[0].config.max_failures: value should be between 0 and 1000000"},
        ErrorCase{"bad_wildcard",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  routes:\n  - hosts: [\"a.*.com\"]\n",
                  "invalid wildcard placement"},
        ErrorCase{"host_header_in_headers",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  routes:\n  - headers:\n      Host: [a]\n",
                  "cannot contain 'host' header"},
        ErrorCase{"bad_target", "_format_version: \"3.0\"\nupstreams:\n- name: up\n  targets:\n  - target: \"a b:1\"\n",
                  "upstreams[0].targets[0].target: invalid target"},
        ErrorCase{"yaml_syntax", "_format_version: \"3.0\"\nservices: [\n", "kong.yml:3:1: invalid YAML"},
        ErrorCase{"bad_algorithm", "_format_version: \"3.0\"\nupstreams:\n- name: up\n  algorithm: random\n",
                  "kong.yml:4:14: upstreams[0].algorithm: expected one of: round-robin, consistent-hashing, least-connections, latency"},
        ErrorCase{"hash_header_missing",
                  "_format_version: \"3.0\"\nupstreams:\n- name: up\n  algorithm: consistent-hashing\n  hash_on: header\n",
                  "upstreams[0].hash_on_header: required when hash_on is 'header'"},
        ErrorCase{"hash_without_algorithm", "_format_version: \"3.0\"\nupstreams:\n- name: up\n  hash_on: ip\n",
                  "kong.yml:4:12: upstreams[0].hash_on: only used with algorithm 'consistent-hashing'"},
        ErrorCase{"healthcheck_type",
                  "_format_version: \"3.0\"\nupstreams:\n- name: up\n  healthchecks:\n    active:\n      type: udp\n",
                  "kong.yml:6:13: upstreams[0].healthchecks.active.type: expected one of: grpc, grpcs, http, https, tcp"},
        ErrorCase{"healthcheck_interval",
                  "_format_version: \"3.0\"\nupstreams:\n- name: up\n  healthchecks:\n    active:\n      healthy:\n"
                  "        interval: -1\n",
                  "kong.yml:7:19: upstreams[0].healthchecks.active.healthy.interval: value should be between 0 and 65535"},
        ErrorCase{"passive_has_no_interval",
                  "_format_version: \"3.0\"\nupstreams:\n- name: up\n  healthchecks:\n    passive:\n      healthy:\n"
                  "        interval: 5\n",
                  "upstreams[0].healthchecks.passive.healthy.interval: unknown field"},
        ErrorCase{"bad_status_list",
                  "_format_version: \"3.0\"\nupstreams:\n- name: up\n  healthchecks:\n    passive:\n      unhealthy:\n"
                  "        http_statuses: [500, 1000]\n",
                  "upstreams[0].healthchecks.passive.unhealthy.http_statuses[1]: value should be between 100 and 999"},
        ErrorCase{"duplicate_target",
                  "_format_version: \"3.0\"\nupstreams:\n- name: up\n  targets:\n  - target: a:1\n  - target: a:1\n",
                  "upstreams[0].targets[1].target: duplicate target 'a:1'"},
        ErrorCase{"unknown_plugin_name",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  plugins:\n  - name: keyauth\n",
                  "kong.yml:6:11: services[0].plugins[0].name: plugin 'keyauth' is not supported by Portico"},
        ErrorCase{"breaker_field",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  plugins:\n  - name: circuit-breaker\n"
                  "    config:\n      failure_ratio: 2\n",
                  "kong.yml:8:22: services[0].plugins[0].config.failure_ratio: value should be between 0 and 1"},
        ErrorCase{"breaker_never_opens",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  plugins:\n  - name: circuit-breaker\n"
                  "    config:\n      max_failures: 0\n",
                  "services[0].plugins[0].config: set max_failures or failure_ratio"},
        ErrorCase{"plugin_config_unknown_field_at_its_key",
                  "_format_version: \"3.0\"\nplugins:\n- name: key-auth\n  config:\n    key_name: [k]\n",
                  "kong.yml:5:5: plugins[0].config.key_name: unknown field"},
        ErrorCase{"plugin_config_element",
                  "_format_version: \"3.0\"\nplugins:\n- name: key-auth\n  config:\n    key_names: [ok, \"bad key\"]\n",
                  "kong.yml:5:21: plugins[0].config.key_names[1]: not a valid header name"},
        ErrorCase{"plugin_config_quoted_number",
                  "_format_version: \"3.0\"\nplugins:\n- name: jwt\n  config:\n    leeway: \"30\"\n",
                  "kong.yml:5:13: plugins[0].config.leeway: expected a number"},
        ErrorCase{"plugin_check_at_the_field",
                  "_format_version: \"3.0\"\nplugins:\n- name: key-auth\n  config:\n    anonymous: ghost\n",
                  "kong.yml:5:16: plugins[0].config.anonymous: no consumer with id or username 'ghost'"},
        ErrorCase{"plugin_record_check",
                  "_format_version: \"3.0\"\nplugins:\n- name: acl\n  config:\n    hide_groups_header: true\n",
                  "kong.yml:5:5: plugins[0].config: set one of 'allow' or 'deny'"},
        ErrorCase{"old_retry_budget_field",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  retry_budget_min_concurrency: 3\n",
                  "kong.yml:5:3: services[0].retry_budget_min_concurrency: replaced by retry_budget_min_per_second"},
        ErrorCase{"budget_reserve_without_percent",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  retry_budget_min_per_second: 5\n",
                  "kong.yml:5:32: services[0].retry_budget_min_per_second: has no effect without retry_budget_percent"},
        ErrorCase{"budget_percent_range",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  retry_budget_percent: 120\n",
                  "services[0].retry_budget_percent: value should be between 0 and 100"},
        ErrorCase{"retry_status_range",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  retry_on_statuses: [404]\n",
                  "services[0].retry_on_statuses[0]: value should be between 500 and 599"},
        ErrorCase{"method_lowercase",
                  "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  routes:\n  - methods: [get]\n",
                  "invalid method 'get'"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Loader, CollectsEveryError) {
  auto r = load("_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  retries: x\n  port2: 1\n");
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
}

TEST(Loader, ReadsUpstreamBalancingAndHealthchecks) {
  auto r = load(R"(_format_version: "3.0"
upstreams:
- name: pool
  algorithm: consistent-hashing
  hash_on: header
  hash_on_header: X-User
  hash_fallback: ip
  max_requests: 50
  healthchecks:
    threshold: 25
    active:
      type: tcp
      timeout: 0.5
      healthy: {interval: 2, successes: 3}
      unhealthy: {interval: 1, tcp_failures: 2, timeouts: 4}
    passive:
      unhealthy: {http_failures: 5, http_statuses: [500, 502]}
  targets:
  - target: 10.0.0.1:8080
    weight: 50
  - target: 10.0.0.2
services:
- name: s
  host: pool
  retry_on_statuses: [502, 503]
  request_timeout: 2500
  plugins:
  - name: circuit-breaker
    config: {max_failures: 7, open_timeout: 1.5}
  routes:
  - paths: [/]
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const auto& u = r.config.upstreams[0];
  EXPECT_EQ(u.algorithm, "consistent-hashing");
  EXPECT_EQ(u.hash_on_header, "x-user");
  EXPECT_EQ(u.hash_fallback, "ip");
  EXPECT_EQ(u.max_requests, 50);
  EXPECT_DOUBLE_EQ(u.healthchecks.threshold, 25);
  EXPECT_EQ(u.healthchecks.active.type, "tcp");
  EXPECT_DOUBLE_EQ(u.healthchecks.active.timeout, 0.5);
  EXPECT_EQ(u.healthchecks.active.healthy.successes, 3);
  EXPECT_EQ(u.healthchecks.active.unhealthy.timeouts, 4);
  EXPECT_EQ(u.healthchecks.active.healthy.http_statuses, (std::vector<int>{200, 302}));  // Kong's default kept
  EXPECT_EQ(u.healthchecks.passive.unhealthy.http_statuses, (std::vector<int>{500, 502}));
  EXPECT_TRUE(u.healthchecks.active.enabled());
  EXPECT_TRUE(u.healthchecks.passive.enabled());
  EXPECT_EQ(u.targets[1].port, 8000);  // Kong's default target port
  const auto& s = r.config.services[0];
  EXPECT_EQ(s.retry_on_statuses, (std::vector<int>{502, 503}));
  EXPECT_EQ(s.request_timeout_ms, 2500);
  ASSERT_EQ(r.config.plugins.size(), 1u);
  const auto& cb = breaker_config(r.config.plugins[0]);
  EXPECT_EQ(r.config.plugins[0].service, 0u);
  EXPECT_EQ(cb.max_failures, 7);
  EXPECT_DOUBLE_EQ(cb.open_timeout, 1.5);
  EXPECT_EQ(cb.failure_statuses, (std::vector<int>{500, 502, 503, 504}));
}

TEST(Loader, PluginWithoutConfigTakesTheDefaults) {
  auto r = load("_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n  plugins:\n  - name: circuit-breaker\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_EQ(r.config.plugins.size(), 1u);
  EXPECT_EQ(breaker_config(r.config.plugins[0]).max_failures, 5);
  EXPECT_DOUBLE_EQ(breaker_config(r.config.plugins[0]).open_timeout, 30);
}

TEST(Loader, TopLevelPluginsAttachToTheirServiceOrRoute) {
  auto r = load(R"(_format_version: "3.0"
services:
- name: payments
  url: http://x
  routes:
  - name: pay
    paths: [/pay]
plugins:
- name: circuit-breaker
  service: payments
  config: {max_failures: 9}
- name: circuit-breaker
  route: {name: pay}
  enabled: false
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_EQ(r.config.plugins.size(), 2u);
  EXPECT_EQ(r.config.plugins[0].service, 0u);
  EXPECT_EQ(r.config.plugins[0].route, PluginEntry::kNone);
  EXPECT_EQ(breaker_config(r.config.plugins[0]).max_failures, 9);
  EXPECT_EQ(r.config.plugins[1].route, 0u);
  EXPECT_FALSE(r.config.plugins[1].enabled);
}

TEST(Loader, ReadsConsumersAndCredentialsNestedAndTopLevel) {
  auto r = load(R"(_format_version: "3.0"
consumers:
- username: alice
  custom_id: A-1
  tags: [team-a]
  keyauth_credentials:
  - key: alice-key
  basicauth_credentials:
  - username: alice
    password: wonderland
  jwt_secrets:
  - key: alice-issuer
    secret: shh
  - key: alice-ed
    algorithm: EdDSA
    rsa_public_key: |
      -----BEGIN PUBLIC KEY-----
      MCowBQYDK2VwAyEAfBMCW5gIJ/yJ3FWvEvMYldsB6RJ4E80KAD9/DgH0rKw=
      -----END PUBLIC KEY-----
  acls:
  - group: admins
- custom_id: B-2
keyauth_credentials:
- consumer: B-2-id
  key: bob-key
acls:
- consumer: {username: alice}
  group: readers
)");
  ASSERT_FALSE(r.ok());  // B-2-id is not a consumer: the top-level credential names a missing one
  EXPECT_EQ(r.errors.size(), 1u) << all_errors(r);  // everything else (the EdDSA key too) is valid
  EXPECT_NE(all_errors(r).find("keyauth_credentials[0].consumer: no consumer 'B-2-id'"), std::string::npos) << all_errors(r);
}

TEST(Loader, ConsumerCredentialsAreAttachedAndPasswordsHashed) {
  auto r = load(R"(_format_version: "3.0"
consumers:
- username: alice
  basicauth_credentials:
  - username: alice
    password: wonderland
  acls:
  - group: admins
- username: bob
keyauth_credentials:
- consumer: bob
  key: bob-key
acls:
- consumer: {username: alice}
  group: readers
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_EQ(r.config.consumers.size(), 2u);
  const auto& alice = r.config.consumers[0];
  EXPECT_EQ(alice.id.size(), 36u);
  ASSERT_EQ(alice.basicauth_credentials.size(), 1u);
  const auto& hash = alice.basicauth_credentials[0].password;
  EXPECT_EQ(hash.digest.size(), 32u);
  EXPECT_EQ(hash.digest.find("wonderland"), std::string::npos);
  EXPECT_TRUE(crypto::verify_password("wonderland", hash));
  EXPECT_FALSE(crypto::verify_password("Wonderland", hash));
  ASSERT_EQ(alice.acls.size(), 2u);
  EXPECT_EQ(alice.acls[1].group, "readers");
  ASSERT_EQ(r.config.consumers[1].keyauth_credentials.size(), 1u);
  EXPECT_EQ(r.config.consumers[1].keyauth_credentials[0].key, "bob-key");
}

TEST(Loader, RetryBudgetIsOffUnlessAPercentIsSet) {
  auto r = load("_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://x\n- name: b\n  url: http://y\n"
                "  retry_budget_percent: 20\n- name: c\n  url: http://z\n  retry_budget_percent: 0\n"
                "  retry_budget_min_per_second: 3\n- name: d\n  url: http://w\n  retry_budget_percent: null\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const auto& s = r.config.services;
  EXPECT_EQ(s[0].retry_budget_percent, -1);  // Kong's behaviour: no budget
  EXPECT_EQ(s[1].retry_budget_percent, 20);
  EXPECT_EQ(s[1].retry_budget_min_per_second, 10);
  EXPECT_EQ(s[2].retry_budget_percent, 0);
  EXPECT_EQ(s[2].retry_budget_min_per_second, 3);
  EXPECT_EQ(s[3].retry_budget_percent, -1);
}

// Regexes as Kong's documentation writes them (PCRE named captures) load as they are.
TEST(Loader, ReadsKongDocStyleNamedCaptures) {
  auto r = load(R"yaml(_format_version: "3.0"
services:
- name: items
  host: items-upstream
  routes:
  - name: items
    paths:
    - ~/items/(?<item>[0-9]+)$
    - "~/status/(?<status>\\d+)"
    headers:
      x-client: ["~*^(?<platform>ios|android)-"]
upstreams:
- name: items-upstream
  algorithm: consistent-hashing
  hash_on: uri_capture
  hash_on_uri_capture: item
  targets:
  - target: 127.0.0.1:9001
)yaml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const auto& route = r.config.routes.at(0);
  // The user's spelling is kept in the configuration (the Admin API answers it back).
  EXPECT_EQ(route.paths.at(0), "~/items/(?<item>[0-9]+)$");
  EXPECT_EQ(route.paths.at(1), "~/status/(?<status>\\d+)");
  EXPECT_EQ(r.config.upstreams.at(0).hash_on_uri_capture, "item");
}

TEST(Loader, MissingFile) {
  auto r = load_declarative_file("/nonexistent/kong.yml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors[0].to_string().find("cannot open file"), std::string::npos);
}

}  // namespace
}  // namespace portico::config
