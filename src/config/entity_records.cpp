#include "config/entity_records.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/url/parse.hpp>
#include <memory>

#include "config/kong_regex.hpp"
#include "config/validators.hpp"
#include "crypto/password.hpp"

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
    s.port = s.protocol == "https" ? 443 : 80;
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
    s.port = s.protocol == "https" ? 443 : 80;
  }
  if (s.protocol == "https") {
    errors.push_back({"protocol", "https upstreams are not supported yet by Portico"});
  } else if (s.protocol != "http") {
    errors.push_back({"protocol", "expected one of: http, https"});
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

void finish_route(RouteConfig& r, const json::object&, Errors& errors) {
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
  int code = r.https_redirect_status_code;
  if (code != 426 && code != 301 && code != 302 && code != 307 && code != 308) {
    errors.push_back({"https_redirect_status_code", "expected one of: 426, 301, 302, 307, 308"});
  }
  if (r.methods.empty() && r.hosts.empty() && r.paths.empty() && r.headers.empty()) {
    errors.push_back({"", "must set one of 'methods', 'hosts', 'headers', 'paths'"});
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
        .field("protocol", &S::protocol, {.one_of = {"http", "https"}})
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
        .field("retry_backoff_base", &S::retry_backoff_base_ms, {.min = 0, .max = 60000})
        .field("retry_backoff_max", &S::retry_backoff_max_ms, {.min = 0, .max = 600000})
        .field("retry_budget_percent", &S::retry_budget_percent, {.min = 0, .max = 100, .nullable = true})
        .field("retry_budget_min_per_second", &S::retry_budget_min_per_second, {.min = 0, .max = 1000000})
        .field("request_timeout", &S::request_timeout_ms, {.min = 0, .max = 2147483646})
        .accepted("created_at", json::object{{"type", "integer"}})
        .accepted("updated_at", json::object{{"type", "integer"}})
        .refused("retry_budget_min_concurrency",
                 "replaced by retry_budget_min_per_second (a reserve of retries per second; see docs/upstreams.md)");
    for (const char* f : {"client_certificate", "tls_verify", "tls_verify_depth", "ca_certificates"}) {
      r.refused(f, "not supported yet by Portico");
    }
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
        .field("protocols", &R::protocols, {.one_of = {"http", "https"}, .len_min = 1})
        .field("methods", &R::methods, {.check = method_problem})
        .field("hosts", &R::hosts, {.check = route_host_problem})
        .field("paths", &R::paths, {.check = route_path_problem})
        .field("headers", &R::headers, {.check = header_value_problem})
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
    for (const char* f : {"snis", "sources", "destinations"}) r.refused(f, "not supported yet by Portico");
    r.finish(finish_route);
    return r;
  }();
  return record;
}

}  // namespace portico::config
