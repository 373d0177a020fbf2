#include "config/entity_records.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/url/parse.hpp>
#include <memory>

#include "config/kong_regex.hpp"
#include "config/validators.hpp"
#include "core/uuid.hpp"
#include "crypto/password.hpp"
#include "net/dns_cache.hpp"
#include "net/tls.hpp"

namespace portico::config {

namespace {

using schema::Errors;
namespace json = boost::json;

std::string entity_name_problem(const std::string& name) {
  return is_valid_entity_name(name) ? "" : "invalid name: must match [a-zA-Z0-9.-_~]+";
}

bool given(const json::object& input, std::string_view field) {
  const auto* v = input.if_contains(field);
  return v != nullptr && !v->is_null();
}

// Kong's port when none is given: 443 for https (and wss), else 80 (grpcs too, as Kong).
int default_port(const std::string& protocol) { return protocol == "https" || protocol == "wss" ? 443 : 80; }

// Kong's `url` shorthand into protocol, host, port and path.
void expand_url(ServiceConfig& s, Errors& errors) {
  auto parsed = boost::urls::parse_uri(s.url);
  if (!parsed) return errors.push_back({"url", "invalid url: " + s.url});
  s.protocol = std::string(parsed->scheme());
  if (parsed->has_userinfo()) return errors.push_back({"url", "url must not contain credentials (user@): " + s.url});
  s.host = std::string(parsed->host());
  if (s.host.empty()) return errors.push_back({"url", "url has no host: " + s.url});
  if (parsed->has_port()) {
    long long port = 0;
    if (!parse_integer(std::string(parsed->port()), port) || port < 0 || port > 65535) {
      return errors.push_back({"url", "invalid port in url"});
    }
    s.port = static_cast<int>(port);
  } else {
    s.port = default_port(s.protocol);
  }
  s.path = std::string(parsed->encoded_path());
  if (parsed->has_query() || parsed->has_fragment()) errors.push_back({"url", "url must not have a query or fragment"});
}

void finish_service(ServiceConfig& s, const json::object& input, Errors& errors) {
  if (!s.url.empty()) {
    if (given(input, "protocol") || given(input, "host") || given(input, "port") || given(input, "path")) {
      errors.push_back({"", "url cannot be combined with protocol, host, port or path"});
    }
    expand_url(s, errors);
    s.url.clear();  // expanded; never kept
  } else if (s.host.empty()) {
    errors.push_back({"", "must set either 'url' or 'host'"});
  } else if (!given(input, "port")) {
    s.port = default_port(s.protocol);
  }
  if (s.protocol != "http" && s.protocol != "https" && s.protocol != "ws" && s.protocol != "wss" &&
      s.protocol != "grpc" && s.protocol != "grpcs") {
    errors.push_back({"protocol", "expected one of: grpc, grpcs, http, https, ws, wss"});
  }
  if (!s.grpc_retry_on.empty() && !s.uses_http2()) {
    errors.push_back({"grpc_retry_on", "only for services whose protocol is 'grpc' or 'grpcs'"});
  }
  // Kong: a gRPC service is called on the client's own path (nginx's grpc_pass has no URI).
  if (s.uses_http2() && !s.path.empty()) errors.push_back({"path", "value must be null"});
  if (s.protocol != "https" && s.protocol != "wss") {  // Kong: the TLS fields belong to https services
    if (s.tls_verify) errors.push_back({"tls_verify", "value must be null"});
    if (s.tls_verify_depth >= 0) errors.push_back({"tls_verify_depth", "value must be null"});
    if (!s.ca_certificates.empty()) errors.push_back({"ca_certificates", "value must be null"});
  }
  if (!s.host.empty() && !is_valid_hostname(s.host)) errors.push_back({"host", "invalid hostname: " + s.host});
  // A reserve other than the default without a budget is a mistake worth a word; the default
  // itself is what every full entity (an Admin API answer, an export) carries.
  if (given(input, "retry_budget_min_per_second") && s.retry_budget_percent < 0 &&
      s.retry_budget_min_per_second != ServiceConfig{}.retry_budget_min_per_second) {
    errors.push_back({"retry_budget_min_per_second",
                      "has no effect without retry_budget_percent (the retry budget is off unless "
                      "retry_budget_percent is set)"});
  }
}

std::string uuid_problem(const std::string& id) { return is_uuid(id) ? "" : "expected a valid UUID"; }

std::string route_path_problem(const std::string& path) { return validate_route_path(path); }
std::string route_host_problem(const std::string& host) { return validate_route_host(host); }
std::string method_problem(const std::string& method) {
  return is_valid_method(method) ? "" : "invalid method '" + method + "' (expected an uppercase token)";
}
// A header value: exact, or a regex after "~*" (through Kong's PCRE-to-RE2 translation).
std::string header_value_problem(const std::string& value) {
  if (value.rfind("~*", 0) != 0) return "";
  auto re = compile_kong_regex(std::string_view(value).substr(2));
  return re.ok() ? "" : re.error().message;
}

// Kong's rules for grpc/grpcs routes (its routes subschema): never mixed with the other
// protocols, no strip_path (defaults to false), methods or sources, and matched on hosts,
// headers or paths (snis too over grpcs).
void finish_grpc_route(RouteConfig& r, const json::object& input, Errors& errors) {
  bool grpc = false, other = false;
  for (const auto& p : r.protocols) (p == "grpc" || p == "grpcs" ? grpc : other) = true;
  if (!grpc) return;
  if (other) {
    errors.push_back({"protocols", "these sets are mutually exclusive: ('http', 'https'), ('grpc', 'grpcs')"});
    return;
  }
  if (given(input, "strip_path") && r.strip_path) {
    errors.push_back({"strip_path", "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'"});
  }
  r.strip_path = false;
  if (!r.methods.empty()) errors.push_back({"methods", "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'"});
  bool grpcs = std::find(r.protocols.begin(), r.protocols.end(), "grpcs") != r.protocols.end();
  if (r.hosts.empty() && r.paths.empty() && r.headers.empty() && (!grpcs || r.snis.empty())) {
    std::string protocol = std::find(r.protocols.begin(), r.protocols.end(), "grpc") != r.protocols.end() ? "grpc" : "grpcs";
    errors.push_back({"", grpcs ? "must set one of 'hosts', 'headers', 'paths', 'snis' when 'protocols' is '" + protocol + "'"
                                : "must set one of 'hosts', 'headers', 'paths' when 'protocols' is '" + protocol + "'"});
  }
}

void finish_route(RouteConfig& r, const json::object& input, Errors& errors) {
  std::map<std::string, std::vector<std::string>> headers;
  for (auto& [name, values] : r.headers) {
    std::string lower = to_lower(name);
    if (lower == "host") {
      errors.push_back({"headers." + name, "cannot contain 'host' header, which must be specified in the 'hosts' attribute",
                        schema::FieldError::Subject::key});
    } else if (!is_valid_header_name(name)) {
      errors.push_back({"headers." + name, "invalid header name", schema::FieldError::Subject::key});
    } else {
      headers[lower] = std::move(values);
    }
  }
  r.headers = std::move(headers);
  for (auto& h : r.hosts) h = to_lower(h);
  for (auto& name : r.snis) {
    name = to_lower(name);
    if (name.size() > 1 && name.back() == '.') name.pop_back();  // Kong: an FQDN's last dot is not routed on
  }
  auto has = [&](std::string_view protocol) {
    return std::find(r.protocols.begin(), r.protocols.end(), protocol) != r.protocols.end();
  };
  bool https = has("https") || has("wss") || has("grpcs");
  if (!r.snis.empty() && !https) {
    errors.push_back({"", "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'"});
  }
  int code = r.https_redirect_status_code;
  if (code != 426 && code != 301 && code != 302 && code != 307 && code != 308) {
    errors.push_back({"https_redirect_status_code", "expected one of: 426, 301, 302, 307, 308"});
  }
  if (has("grpc") || has("grpcs")) return finish_grpc_route(r, input, errors);
  if (r.methods.empty() && r.hosts.empty() && r.paths.empty() && r.headers.empty() && r.snis.empty()) {
    // Kong's http subschema: snis count only when the route serves https.
    std::string protocol = has("https") ? "https" : has("wss") ? "wss" : has("http") ? "http" : "ws";
    errors.push_back({"", https ? "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is '" + protocol + "'"
                                : "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is '" + protocol + "'"});
  }
}

void finish_consumer(ConsumerConfig& c, const json::object&, Errors& errors) {
  if (c.username.empty() && c.custom_id.empty()) errors.push_back({"", "set at least one of 'username' or 'custom_id'"});
}

void require_key(const std::string& key, Errors& errors) {
  if (key.empty()) errors.push_back({"key", "required field missing (Portico needs explicit keys)"});
}

// The JWT secret's key material fits its algorithm: a shared secret for HS*, a PEM public key
// of the right type for the others.
void finish_jwt(JwtSecret& s, const json::object&, Errors& errors) {
  require_key(s.key, errors);
  if (s.algorithm.rfind("HS", 0) == 0) {
    if (s.secret.empty()) errors.push_back({"secret", "required for algorithm " + s.algorithm});
    return;
  }
  if (s.rsa_public_key.empty()) {
    return errors.push_back({"rsa_public_key", "required for algorithm " + s.algorithm + " (a PEM public key)"});
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(s.rsa_public_key.data(), static_cast<int>(s.rsa_public_key.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
                                                          EVP_PKEY_free);
  if (!key) return errors.push_back({"rsa_public_key", "not a PEM public key"});
  int type = EVP_PKEY_get_base_id(key.get());
  bool fits = (s.algorithm[0] == 'R' || s.algorithm[0] == 'P') ? type == EVP_PKEY_RSA
              : s.algorithm[0] == 'E' && s.algorithm != "EdDSA"  ? type == EVP_PKEY_EC
                                                                  : (type == EVP_PKEY_ED25519 || type == EVP_PKEY_ED448);
  if (!fits) errors.push_back({"rsa_public_key", "the key's type does not match algorithm " + s.algorithm});
}

// A plain password is hashed here and never kept; a stored hash is decoded.
void finish_basicauth(BasicAuthCredential& b, const json::object&, Errors& errors) {
  if (b.username.empty()) errors.push_back({"username", "required field missing"});
  if (!b.password_input.empty() && !b.password_hash_input.empty()) {
    errors.push_back({"password", "set 'password' or 'password_hash', not both"});
  } else if (!b.password_hash_input.empty()) {
    if (!crypto::decode_password_hash(b.password_hash_input, b.password)) {
      errors.push_back({"password_hash", "not a Portico password hash (pbkdf2-sha256$ITERATIONS$SALT$KEY, as db_export writes it)"});
    }
  } else if (b.password_input.empty()) {
    errors.push_back({"password", "required field missing"});
  } else if (!b.username.empty()) {
    b.password = crypto::hash_password_for_config(b.username, b.password_input);
  }
  b.password_input.clear();
  b.password_hash_input.clear();
}


// Kong's rules for hash_on / hash_fallback and the fields each choice requires.
void check_hashing(const UpstreamConfig& u, Errors& errors) {
  // e.g. hash_on: header requires hash_on_header.
  auto require = [&](const char* selector, const std::string& choice, const char* kind, const std::string& value,
                     const char* key) {
    if (choice == kind && value.empty()) errors.push_back({key, std::string("required when ") + selector + " is '" + kind + "'"});
  };
  require("hash_on", u.hash_on, "header", u.hash_on_header, "hash_on_header");
  require("hash_fallback", u.hash_fallback, "header", u.hash_fallback_header, "hash_fallback_header");
  require("hash_on", u.hash_on, "query_arg", u.hash_on_query_arg, "hash_on_query_arg");
  require("hash_fallback", u.hash_fallback, "query_arg", u.hash_fallback_query_arg, "hash_fallback_query_arg");
  require("hash_on", u.hash_on, "uri_capture", u.hash_on_uri_capture, "hash_on_uri_capture");
  require("hash_fallback", u.hash_fallback, "uri_capture", u.hash_fallback_uri_capture, "hash_fallback_uri_capture");
  if ((u.hash_on == "cookie" || u.hash_fallback == "cookie") && u.hash_on_cookie.empty()) {
    errors.push_back({"hash_on_cookie", "required when hash_on or hash_fallback is 'cookie'"});
  }
  if (u.hash_on == "none" && u.hash_fallback != "none") {
    errors.push_back({"hash_fallback", "must be 'none' when hash_on is 'none'"});
  }
  if (u.hash_on == "cookie" && u.hash_fallback != "none") {
    errors.push_back({"hash_fallback", "must be 'none' when hash_on is 'cookie' (the cookie is always set)"});
  }
  if (u.hash_on != "none" && u.hash_on == u.hash_fallback && u.hash_on != "header" && u.hash_on != "query_arg" &&
      u.hash_on != "uri_capture") {
    errors.push_back({"hash_fallback", "must differ from hash_on"});
  }
  if (u.hash_on != "none" && u.algorithm != "consistent-hashing") {
    errors.push_back({"hash_on", "only used with algorithm 'consistent-hashing'"});
  }
}

void finish_upstream(UpstreamConfig& u, const json::object&, Errors& errors) {
  if (u.name.empty()) errors.push_back({"name", "required field missing"});
  else if (!is_valid_hostname(u.name)) errors.push_back({"name", "invalid upstream name (must be a hostname)"});
  check_hashing(u, errors);
  u.hash_on_header = to_lower(u.hash_on_header);
  u.hash_fallback_header = to_lower(u.hash_fallback_header);
  // A trial request after fail_timeout must be able to bring the address back.
  auto& passive = u.healthchecks.passive;
  if (passive.unhealthy.fail_timeout > 0 && passive.healthy.successes == 0) passive.healthy.successes = 1;
}

void finish_target(TargetConfig& t, const json::object&, Errors& errors) {
  if (t.target.empty()) return errors.push_back({"target", "required field missing"});
  if (!split_host_port(t.target, t.host, t.port, 8000)) {
    errors.push_back({"target", "invalid target '" + t.target + "' (expected host[:port])"});
  }
}

// Kong's certificate checks: each PEM readable, each pair matching, the two pairs of different
// key types.
void finish_certificate(CertificateConfig& c, const json::object&, Errors& errors) {
  if (c.cert_alt.empty() != c.key_alt.empty()) {
    errors.push_back({"", "all or none of these fields must be set: 'cert_alt', 'key_alt'"});
  }
  for (auto& name : c.snis) name = to_lower(name);
  if (!errors.empty()) return;
  if (!c.cert.empty() && !c.key.empty() && !net::certificate_matches_key(c.cert, c.key)) {
    errors.push_back({"", "certificate does not match key"});
  }
  if (!c.cert_alt.empty() && !c.key_alt.empty()) {
    if (!net::certificate_matches_key(c.cert_alt, c.key_alt)) {
      errors.push_back({"", "alternative certificate does not match key"});
    } else if (net::same_key_type(c.cert, c.cert_alt)) {
      errors.push_back({"", "certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), "
                            "the provided certificates were both of the same type"});
    }
  }
}

std::string certificate_pem_problem(const std::string& pem) { return net::certificate_problem(pem); }
std::string key_pem_problem(const std::string& pem) { return net::key_problem(pem); }

void finish_sni(SniConfig& s, const json::object&, Errors& errors) {
  if (s.name.empty()) errors.push_back({"name", "required field missing"});
  s.name = to_lower(s.name);
}

std::string header_name_problem(const std::string& name) {
  return is_valid_header_name(name) ? "" : "invalid header name '" + name + "'";
}
std::string absolute_path_problem(const std::string& p) {
  return !p.empty() && p[0] == '/' ? std::string() : std::string("should start with: /");
}

// healthchecks.{active,passive}.{healthy,unhealthy}: passive rules have no probe interval,
// passive unhealthy has Portico's fail_timeout (nginx's).
template <typename Rule>
schema::Record<Rule> health_rule_record(bool active) {
  schema::Record<Rule> r;
  if (active) r.field("interval", &Rule::interval, {.min = 0, .max = 65535});
  if constexpr (std::is_same_v<Rule, HealthyRule>) {
    r.field("successes", &Rule::successes, {.min = 0, .max = 255});
  } else {
    r.field("http_failures", &Rule::http_failures, {.min = 0, .max = 255})
        .field("tcp_failures", &Rule::tcp_failures, {.min = 0, .max = 255})
        .field("timeouts", &Rule::timeouts, {.min = 0, .max = 255});
    if (!active) r.field("fail_timeout", &Rule::fail_timeout, {.min = 0, .max = 65535});
  }
  r.field("http_statuses", &Rule::http_statuses, {.min = 100, .max = 999});
  return r;
}

const schema::Record<Healthchecks>& healthchecks_record() {
  static const auto active_healthy = health_rule_record<HealthyRule>(true);
  static const auto active_unhealthy = health_rule_record<UnhealthyRule>(true);
  static const auto passive_healthy = health_rule_record<HealthyRule>(false);
  static const auto passive_unhealthy = health_rule_record<UnhealthyRule>(false);
  static const schema::Record<ActiveHealthcheck> active = [] {
    using A = ActiveHealthcheck;
    schema::Record<A> r;
    r.field("type", &A::type, {.one_of = {"grpc", "grpcs", "http", "https", "tcp"}})
        .field("http_path", &A::http_path, {.check = absolute_path_problem})
        .field("timeout", &A::timeout, {.min = 0, .max = 65535})
        .field("concurrency", &A::concurrency, {.min = 1, .max = 2147483647})
        .field("https_verify_certificate", &A::https_verify_certificate)
        .field("https_sni", &A::https_sni, {.nullable = true})
        .field("headers", &A::headers)
        .record<HealthyRule>("healthy", [](A& a) -> HealthyRule& { return a.healthy; }, active_healthy)
        .record<UnhealthyRule>("unhealthy", [](A& a) -> UnhealthyRule& { return a.unhealthy; }, active_unhealthy);
    r.check([](const A& a, Errors& errors) {
      for (const auto& [name, values] : a.headers) {
        if (auto problem = header_name_problem(name); !problem.empty()) {
          errors.push_back({"headers." + name, problem, schema::FieldError::Subject::key});
        }
      }
    });
    return r;
  }();
  static const schema::Record<PassiveHealthcheck> passive = [] {
    using P = PassiveHealthcheck;
    schema::Record<P> r;
    r.field("type", &P::type, {.one_of = {"grpc", "grpcs", "http", "https", "tcp"}})
        .record<HealthyRule>("healthy", [](P& p) -> HealthyRule& { return p.healthy; }, passive_healthy)
        .record<UnhealthyRule>("unhealthy", [](P& p) -> UnhealthyRule& { return p.unhealthy; }, passive_unhealthy);
    return r;
  }();
  static const schema::Record<Healthchecks> record = [] {
    using H = Healthchecks;
    schema::Record<H> r;
    r.record<ActiveHealthcheck>("active", [](H& h) -> ActiveHealthcheck& { return h.active; }, active)
        .record<PassiveHealthcheck>("passive", [](H& h) -> PassiveHealthcheck& { return h.passive; }, passive)
        .field("threshold", &H::threshold, {.min = 0, .max = 100});
    return r;
  }();
  return record;
}

}  // namespace

const schema::Record<ConsumerConfig>& consumer_record() {
  using K = ConsumerConfig;
  static const schema::Record<K> record = [] {
    schema::Record<K> r;
    r.field("id", &K::id, {.nullable = true})
        .field("username", &K::username, {.nullable = true})
        .field("custom_id", &K::custom_id, {.nullable = true})
        .field("tags", &K::tags)
        .accepted("created_at", json::object{{"type", "integer"}})
        .accepted("updated_at", json::object{{"type", "integer"}});
    r.finish(finish_consumer);
    return r;
  }();
  return record;
}

const schema::Record<KeyAuthCredential>& keyauth_record() {
  using C = KeyAuthCredential;
  static const schema::Record<C> record = [] {
    schema::Record<C> r;
    r.field("id", &C::id, {.nullable = true})
        .field("key", &C::key, {.nullable = true})
        .field("tags", &C::tags)
        .accepted("ttl", json::object{{"type", "integer"}})
        .accepted("created_at", json::object{{"type", "integer"}});
    r.finish([](C& c, const json::object&, Errors& errors) { require_key(c.key, errors); });
    return r;
  }();
  return record;
}

const schema::Record<BasicAuthCredential>& basicauth_record() {
  using C = BasicAuthCredential;
  static const schema::Record<C> record = [] {
    schema::Record<C> r;
    r.field("id", &C::id, {.nullable = true})
        .field("username", &C::username, {.nullable = true})
        .field("password", &C::password_input, {.nullable = true, .input_only = true})
        .field("password_hash", &C::password_hash_input, {.nullable = true, .input_only = true})
        .field("tags", &C::tags)
        .accepted("created_at", json::object{{"type", "integer"}});
    r.finish(finish_basicauth);
    return r;
  }();
  return record;
}

const schema::Record<JwtSecret>& jwt_secret_record() {
  using C = JwtSecret;
  static const schema::Record<C> record = [] {
    schema::Record<C> r;
    r.field("id", &C::id, {.nullable = true})
        .field("key", &C::key, {.nullable = true})
        .field("algorithm", &C::algorithm,
               {.one_of = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
                           "ES384", "ES512", "EdDSA"}})
        .field("secret", &C::secret, {.nullable = true})
        .field("rsa_public_key", &C::rsa_public_key, {.nullable = true})
        .field("tags", &C::tags)
        .accepted("created_at", json::object{{"type", "integer"}});
    r.finish(finish_jwt);
    return r;
  }();
  return record;
}

const schema::Record<AclGroup>& acl_record() {
  using C = AclGroup;
  static const schema::Record<C> record = [] {
    schema::Record<C> r;
    r.field("id", &C::id, {.nullable = true})
        .field("group", &C::group, {.nullable = true})
        .field("tags", &C::tags)
        .accepted("created_at", json::object{{"type", "integer"}});
    r.finish([](C& c, const json::object&, Errors& errors) {
      if (c.group.empty()) errors.push_back({"group", "required field missing"});
    });
    return r;
  }();
  return record;
}

const schema::Record<ServiceConfig>& service_record() {
  using S = ServiceConfig;
  static const schema::Record<S> record = [] {
    schema::Record<S> r;
    r.field("id", &S::id, {.nullable = true})
        .field("name", &S::name, {.nullable = true, .check = entity_name_problem})
        .field("url", &S::url, {.nullable = true, .input_only = true})
        .field("protocol", &S::protocol, {.one_of = {"grpc", "grpcs", "http", "https", "ws", "wss"}})
        .field("host", &S::host, {.nullable = true})
        .field("port", &S::port, {.min = 0, .max = 65535})
        .field("path", &S::path, {.nullable = true, .check = [](const std::string& p) {
                 return p.empty() || p[0] == '/' ? std::string() : std::string("should start with: /");
               }})
        .field("retries", &S::retries, {.min = 0, .max = 32767})
        .field("connect_timeout", &S::connect_timeout_ms, {.min = 1, .max = 2147483646})
        .field("write_timeout", &S::write_timeout_ms, {.min = 1, .max = 2147483646})
        .field("read_timeout", &S::read_timeout_ms, {.min = 1, .max = 2147483646})
        .field("tags", &S::tags)
        .field("enabled", &S::enabled)
        // Portico's own (docs/configuration.md "Retries").
        .field("retry_on_statuses", &S::retry_on_statuses, {.min = 500, .max = 599})
        .field("grpc_retry_on", &S::grpc_retry_on,
               {.one_of = {"cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"}})
        .field("retry_backoff_base", &S::retry_backoff_base_ms, {.min = 0, .max = 60000})
        .field("retry_backoff_max", &S::retry_backoff_max_ms, {.min = 0, .max = 600000})
        .field("retry_budget_percent", &S::retry_budget_percent, {.min = 0, .max = 100, .nullable = true})
        .field("retry_budget_min_per_second", &S::retry_budget_min_per_second, {.min = 0, .max = 1000000})
        .field("request_timeout", &S::request_timeout_ms, {.min = 0, .max = 2147483646})
        .accepted("created_at", json::object{{"type", "integer"}})
        .accepted("updated_at", json::object{{"type", "integer"}})
        .refused("retry_budget_min_concurrency",
                 "replaced by retry_budget_min_per_second (a reserve of retries per second; see docs/upstreams.md)");
    // client_certificate is a reference ({id: ...}), read by the loader and the Admin API.
    r.field("tls_verify", &S::tls_verify, {.nullable = true})
        .field("tls_verify_depth", &S::tls_verify_depth, {.min = 0, .max = 64, .nullable = true})
        .field("ca_certificates", &S::ca_certificates, {.nullable = true, .check = uuid_problem});
    r.finish(finish_service);
    return r;
  }();
  return record;
}

const schema::Record<RouteConfig>& route_record() {
  using R = RouteConfig;
  static const schema::Record<R> record = [] {
    schema::Record<R> r;
    r.field("id", &R::id, {.nullable = true})
        .field("name", &R::name, {.nullable = true})
        .field("protocols", &R::protocols, {.one_of = {"grpc", "grpcs", "http", "https", "ws", "wss"}, .len_min = 1})
        .field("methods", &R::methods, {.check = method_problem})
        .field("hosts", &R::hosts, {.check = route_host_problem})
        .field("paths", &R::paths, {.check = route_path_problem})
        .field("headers", &R::headers, {.check = header_value_problem})
        .field("snis", &R::snis, {.check = sni_name_problem})
        .field("strip_path", &R::strip_path)
        .field("preserve_host", &R::preserve_host)
        .field("regex_priority", &R::regex_priority, {.min = -2147483647, .max = 2147483647})
        .field("path_handling", &R::path_handling, {.one_of = {"v0", "v1"}})
        .field("https_redirect_status_code", &R::https_redirect_status_code)
        .field("request_buffering", &R::request_buffering)
        .field("response_buffering", &R::response_buffering)
        .field("tags", &R::tags)
        .accepted("created_at", json::object{{"type", "integer"}})
        .accepted("updated_at", json::object{{"type", "integer"}});
    for (const char* f : {"sources", "destinations"}) r.refused(f, "not supported yet by Portico");
    r.finish(finish_route);
    return r;
  }();
  return record;
}

const schema::Record<UpstreamConfig>& upstream_record() {
  using U = UpstreamConfig;
  static const schema::Record<U> record = [] {
    static const std::vector<std::string> hash_inputs = {"none", "consumer", "ip", "header", "cookie", "path", "query_arg",
                                                         "uri_capture"};
    schema::Record<U> r;
    r.field("id", &U::id, {.nullable = true})
        .field("name", &U::name, {.nullable = true})
        .field("algorithm", &U::algorithm, {.one_of = {"round-robin", "consistent-hashing", "least-connections", "latency"}})
        .field("slots", &U::slots, {.min = 10, .max = 65536})
        .field("host_header", &U::host_header, {.nullable = true})
        .field("hash_on", &U::hash_on, {.one_of = hash_inputs})
        .field("hash_fallback", &U::hash_fallback, {.one_of = hash_inputs})
        .field("hash_on_header", &U::hash_on_header, {.nullable = true, .check = header_name_problem})
        .field("hash_fallback_header", &U::hash_fallback_header, {.nullable = true, .check = header_name_problem})
        .field("hash_on_cookie", &U::hash_on_cookie, {.nullable = true})
        .field("hash_on_cookie_path", &U::hash_on_cookie_path, {.check = absolute_path_problem})
        .field("hash_on_query_arg", &U::hash_on_query_arg, {.nullable = true})
        .field("hash_fallback_query_arg", &U::hash_fallback_query_arg, {.nullable = true})
        .field("hash_on_uri_capture", &U::hash_on_uri_capture, {.nullable = true})
        .field("hash_fallback_uri_capture", &U::hash_fallback_uri_capture, {.nullable = true})
        .record<Healthchecks>("healthchecks", [](U& u) -> Healthchecks& { return u.healthchecks; }, healthchecks_record())
        // Portico's own (Envoy's circuit-breaker thresholds; docs/upstreams.md).
        .field("max_connections", &U::max_connections, {.min = 0, .max = 2147483647})
        .field("max_pending_requests", &U::max_pending_requests, {.min = 0, .max = 2147483647})
        .field("max_requests", &U::max_requests, {.min = 0, .max = 2147483647})
        .field("tags", &U::tags)
        .accepted("created_at", json::object{{"type", "integer"}})
        .accepted("updated_at", json::object{{"type", "integer"}});
    r.refused("use_srv_name", "not supported yet by Portico");
    r.finish(finish_upstream);
    return r;
  }();
  return record;
}

const schema::Record<TargetConfig>& target_record() {
  using T = TargetConfig;
  static const schema::Record<T> record = [] {
    schema::Record<T> r;
    r.field("id", &T::id, {.nullable = true})
        .field("target", &T::target, {.nullable = true})
        .field("weight", &T::weight, {.min = 0, .max = 65535})
        .field("tags", &T::tags)
        .accepted("created_at", json::object{{"type", "number"}})
        .accepted("updated_at", json::object{{"type", "number"}});
    r.finish(finish_target);
    return r;
  }();
  return record;
}

std::string sni_name_problem(const std::string& name) {
  std::string host = name;
  if (std::size_t star = host.find('*'); star != std::string::npos) {
    if (star != 0 && star != host.size() - 1) return "wildcard must be leftmost or rightmost character";
    if (host.find('*', star + 1) != std::string::npos) return "only one wildcard must be specified";
    host.replace(star, 1, "wildcard");  // the rest must be a host name
  }
  std::string bare = host.size() > 1 && host.front() == '[' && host.back() == ']' ? host.substr(1, host.size() - 2) : host;
  if (net::is_ip_literal(bare)) return "must not be an IP";
  std::string without_port;
  int port = 0;
  if (host.find(':') != std::string::npos && split_host_port(host, without_port, port, 0) && is_valid_hostname(without_port)) {
    return "must not have a port";
  }
  if (host.empty() || !is_valid_hostname(host)) return "invalid value: " + host;
  return "";
}

const schema::Record<CertificateConfig>& certificate_record() {
  using C = CertificateConfig;
  static const schema::Record<C> record = [] {
    schema::Record<C> r;
    r.field("id", &C::id, {.nullable = true})
        .field("cert", &C::cert, {.required = true, .check = certificate_pem_problem})
        .field("key", &C::key, {.required = true, .check = key_pem_problem})
        .field("cert_alt", &C::cert_alt, {.nullable = true, .check = certificate_pem_problem})
        .field("key_alt", &C::key_alt, {.nullable = true, .check = key_pem_problem})
        .field("tags", &C::tags)
        .field("snis", &C::snis, {.input_only = true, .check = sni_name_problem})
        .accepted("created_at", json::object{{"type", "integer"}})
        .accepted("updated_at", json::object{{"type", "integer"}});
    r.finish(finish_certificate);
    return r;
  }();
  return record;
}

const schema::Record<CaCertificateConfig>& ca_certificate_record() {
  using C = CaCertificateConfig;
  static const schema::Record<C> record = [] {
    schema::Record<C> r;
    r.field("id", &C::id, {.nullable = true})
        .field("cert", &C::cert, {.required = true, .check = net::ca_certificate_problem})
        .field("cert_digest", &C::cert_digest, {.nullable = true})
        .field("tags", &C::tags)
        .accepted("created_at", json::object{{"type", "integer"}})
        .accepted("updated_at", json::object{{"type", "integer"}});
    // The digest is derived (Kong's on_write transformation), whatever the input said.
    r.finish([](C& c, const json::object&, Errors&) { c.cert_digest = net::certificate_digest(c.cert); });
    return r;
  }();
  return record;
}

const schema::Record<SniConfig>& sni_record() {
  using S = SniConfig;
  static const schema::Record<S> record = [] {
    schema::Record<S> r;
    r.field("id", &S::id, {.nullable = true})
        .field("name", &S::name, {.required = true, .check = sni_name_problem})
        .field("tags", &S::tags)
        .accepted("created_at", json::object{{"type", "integer"}})
        .accepted("updated_at", json::object{{"type", "integer"}});
    r.finish(finish_sni);
    return r;
  }();
  return record;
}

}  // namespace portico::config
