#include "config/export.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "plugin/config_schema.hpp"
#include "plugin/plugin.hpp"
#include "schema/record.hpp"

namespace portico::config {

namespace {

// Kong answers null for an unset string or an empty list.
json::value or_null(const std::string& s) { return s.empty() ? json::value(nullptr) : json::value(s); }
json::value or_null(const std::vector<std::string>& list) {
  if (list.empty()) return nullptr;
  json::array out;
  for (const auto& s : list) out.emplace_back(s);
  return out;
}
json::array ints(const std::vector<int>& list) {
  json::array out;
  for (int v : list) out.emplace_back(v);
  return out;
}
json::array strings(const std::vector<std::string>& list) {
  json::array out;
  for (const auto& s : list) out.emplace_back(s);
  return out;
}
json::value headers_json(const std::map<std::string, std::vector<std::string>>& headers) {
  if (headers.empty()) return nullptr;
  json::object out;
  for (const auto& [name, values] : headers) out[name] = or_null(values);
  return out;
}
json::value ref(const std::string& id) { return json::object{{"id", id}}; }

json::object healthy_json(const HealthyRule& h, bool active) {
  json::object o{{"successes", h.successes}, {"http_statuses", ints(h.http_statuses)}};
  if (active) o["interval"] = schema::number_json(h.interval);
  return o;
}
json::object unhealthy_json(const UnhealthyRule& h, bool active) {
  json::object o{{"http_failures", h.http_failures},
                 {"tcp_failures", h.tcp_failures},
                 {"timeouts", h.timeouts},
                 {"http_statuses", ints(h.http_statuses)}};
  if (active) o["interval"] = schema::number_json(h.interval);
  else if (h.fail_timeout > 0) o["fail_timeout"] = schema::number_json(h.fail_timeout);
  return o;
}

}  // namespace

json::object service_json(const ServiceConfig& s) {
  json::object o{
      {"id", s.id},
      {"name", or_null(s.name)},
      {"protocol", s.protocol},
      {"host", s.host},
      {"port", s.port},
      {"path", or_null(s.path)},
      {"retries", s.retries},
      {"connect_timeout", s.connect_timeout_ms},
      {"write_timeout", s.write_timeout_ms},
      {"read_timeout", s.read_timeout_ms},
      {"tags", or_null(s.tags)},
      {"enabled", s.enabled},
      {"client_certificate", s.client_certificate.empty() ? json::value(nullptr) : json::value(json::object{{"id", s.client_certificate}})},
      {"tls_verify", s.tls_verify ? json::value(*s.tls_verify) : json::value(nullptr)},
      {"tls_verify_depth", s.tls_verify_depth < 0 ? json::value(nullptr) : json::value(s.tls_verify_depth)},
      {"ca_certificates", or_null(s.ca_certificates)},
      // Portico's own fields (docs/configuration.md "Retries").
      {"retry_on_statuses", ints(s.retry_on_statuses)},
      {"grpc_retry_on", strings(s.grpc_retry_on)},
      {"retry_backoff_base", s.retry_backoff_base_ms},
      {"retry_backoff_max", s.retry_backoff_max_ms},
      {"retry_budget_percent", s.retry_budget_percent < 0 ? json::value(nullptr) : json::value(s.retry_budget_percent)},
      {"request_timeout", s.request_timeout_ms},
  };
  // The reserve means nothing without a budget (and the loader says so): only with one.
  if (s.retry_budget_percent >= 0) o["retry_budget_min_per_second"] = s.retry_budget_min_per_second;
  return o;
}

json::object route_json(const RouteConfig& r, const DeclarativeConfig& c) {
  json::array protocols;
  for (const auto& p : r.protocols) protocols.emplace_back(p);
  return json::object{
      {"id", r.id},
      {"name", or_null(r.name)},
      {"protocols", protocols},
      {"methods", or_null(r.methods)},
      {"hosts", or_null(r.hosts)},
      {"paths", or_null(r.paths)},
      {"headers", headers_json(r.headers)},
      {"strip_path", r.strip_path},
      {"preserve_host", r.preserve_host},
      {"regex_priority", r.regex_priority},
      {"path_handling", r.path_handling},
      {"https_redirect_status_code", r.https_redirect_status_code},
      {"request_buffering", r.request_buffering},
      {"response_buffering", r.response_buffering},
      {"tags", or_null(r.tags)},
      {"snis", or_null(r.snis)},
      {"sources", nullptr},
      {"destinations", nullptr},
      {"service", r.service_index < c.services.size() ? ref(c.services[r.service_index].id) : json::value(nullptr)},
  };
}

json::object plugin_json(const PluginEntry& p, const DeclarativeConfig& c) {
  json::value config = nullptr;
  if (p.schema != nullptr && p.schema->config != nullptr && p.config) config = p.schema->config->write(*p.config);
  auto scope = [](std::size_t index, const auto& list) {
    return index < list.size() ? ref(list[index].id) : json::value(nullptr);
  };
  return json::object{
      {"id", p.id},
      {"name", p.name},
      {"enabled", p.enabled},
      {"config", config},
      {"protocols", json::array{"grpc", "grpcs", "http", "https"}},
      {"tags", nullptr},
      {"instance_name", nullptr},
      {"ordering", nullptr},
      {"service", scope(p.service, c.services)},
      {"route", scope(p.route, c.routes)},
      {"consumer", scope(p.consumer, c.consumers)},
  };
}

json::object consumer_json(const ConsumerConfig& k) {
  return json::object{{"id", k.id}, {"username", or_null(k.username)}, {"custom_id", or_null(k.custom_id)}, {"tags", or_null(k.tags)}};
}

json::object keyauth_json(const KeyAuthCredential& k, const std::string& consumer_id) {
  return json::object{{"id", k.id}, {"key", k.key}, {"tags", or_null(k.tags)}, {"ttl", nullptr}, {"consumer", ref(consumer_id)}};
}

json::object jwt_secret_json(const JwtSecret& j, const std::string& consumer_id) {
  return json::object{{"id", j.id},
                      {"key", j.key},
                      {"algorithm", j.algorithm},
                      {"secret", or_null(j.secret)},
                      {"rsa_public_key", or_null(j.rsa_public_key)},
                      {"tags", or_null(j.tags)},
                      {"consumer", ref(consumer_id)}};
}

json::object acl_json(const AclGroup& a, const std::string& consumer_id) {
  return json::object{{"id", a.id}, {"group", a.group}, {"tags", or_null(a.tags)}, {"consumer", ref(consumer_id)}};
}

json::object basicauth_json(const BasicAuthCredential& b, const std::string& consumer_id) {
  return json::object{{"id", b.id},
                      {"username", b.username},
                      {"password_hash", crypto::encode_password_hash(b.password)},
                      {"tags", or_null(b.tags)},
                      {"consumer", ref(consumer_id)}};
}

json::object upstream_json(const UpstreamConfig& u) {
  const auto& a = u.healthchecks.active;
  const auto& p = u.healthchecks.passive;
  json::object active{
      {"type", a.type},
      {"http_path", a.http_path},
      {"timeout", schema::number_json(a.timeout)},
      {"concurrency", a.concurrency},
      {"https_verify_certificate", a.https_verify_certificate},
      {"https_sni", or_null(a.https_sni)},
      {"headers", headers_json(a.headers)},
      {"healthy", healthy_json(a.healthy, true)},
      {"unhealthy", unhealthy_json(a.unhealthy, true)},
  };
  json::object passive{
      {"type", p.type}, {"healthy", healthy_json(p.healthy, false)}, {"unhealthy", unhealthy_json(p.unhealthy, false)}};
  return json::object{
      {"id", u.id},
      {"name", u.name},
      {"algorithm", u.algorithm},
      {"slots", u.slots},
      {"host_header", or_null(u.host_header)},
      {"hash_on", u.hash_on},
      {"hash_fallback", u.hash_fallback},
      {"hash_on_header", or_null(u.hash_on_header)},
      {"hash_fallback_header", or_null(u.hash_fallback_header)},
      {"hash_on_cookie", or_null(u.hash_on_cookie)},
      {"hash_on_cookie_path", u.hash_on_cookie_path},
      {"hash_on_query_arg", or_null(u.hash_on_query_arg)},
      {"hash_fallback_query_arg", or_null(u.hash_fallback_query_arg)},
      {"hash_on_uri_capture", or_null(u.hash_on_uri_capture)},
      {"hash_fallback_uri_capture", or_null(u.hash_fallback_uri_capture)},
      {"healthchecks", json::object{{"active", active}, {"passive", passive}, {"threshold", schema::number_json(u.healthchecks.threshold)}}},
      {"max_connections", u.max_connections},
      {"max_pending_requests", u.max_pending_requests},
      {"max_requests", u.max_requests},
      {"tags", or_null(u.tags)},
      {"client_certificate", u.client_certificate.empty() ? json::value(nullptr) : json::value(json::object{{"id", u.client_certificate}})},
      {"use_srv_name", nullptr},
  };
}

json::object target_json(const TargetConfig& t, const std::string& upstream_id) {
  return json::object{{"id", or_null(t.id)},
                      {"target", t.target},
                      {"weight", t.weight},
                      {"tags", or_null(t.tags)},
                      {"upstream", ref(upstream_id)}};
}

json::object certificate_json(const CertificateConfig& cert, const DeclarativeConfig& c) {
  json::array names;
  for (const auto& name : sni_names(c, cert.id)) names.emplace_back(name);
  return json::object{{"id", or_null(cert.id)},     {"cert", cert.cert},         {"key", cert.key},
                      {"cert_alt", or_null(cert.cert_alt)}, {"key_alt", or_null(cert.key_alt)}, {"tags", or_null(cert.tags)},
                      {"snis", std::move(names)}};
}

json::object sni_json(const SniConfig& s, const DeclarativeConfig& c) {
  std::string certificate = s.certificate_index < c.certificates.size() ? c.certificates[s.certificate_index].id : "";
  return json::object{{"id", or_null(s.id)}, {"name", s.name}, {"tags", or_null(s.tags)}, {"certificate", json::object{{"id", certificate}}}};
}

json::object ca_certificate_json(const CaCertificateConfig& ca) {
  return json::object{{"id", ca.id}, {"cert", ca.cert}, {"cert_digest", ca.cert_digest}, {"tags", or_null(ca.tags)}};
}

std::vector<std::string> sni_names(const DeclarativeConfig& c, const std::string& certificate_id) {
  std::vector<std::string> names;
  for (const auto& s : c.snis) {
    if (s.certificate_index < c.certificates.size() && c.certificates[s.certificate_index].id == certificate_id) {
      names.push_back(s.name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

// JSON into YAML (block style, keys in the document's order).
void emit(YAML::Emitter& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::object:
      out << YAML::BeginMap;
      for (const auto& [k, e] : v.as_object()) {
        out << YAML::Key << std::string(k) << YAML::Value;
        emit(out, e);
      }
      out << YAML::EndMap;
      break;
    case json::kind::array:
      out << YAML::BeginSeq;
      for (const auto& e : v.as_array()) emit(out, e);
      out << YAML::EndSeq;
      break;
    case json::kind::string:
      // Quoted: a string that looks like a number or a boolean stays a string.
      out << YAML::DoubleQuoted << std::string(v.as_string());
      break;
    case json::kind::bool_: out << v.as_bool(); break;
    case json::kind::int64: out << v.as_int64(); break;
    case json::kind::uint64: out << v.as_uint64(); break;
    case json::kind::double_: out << v.as_double(); break;
    case json::kind::null: out << YAML::Null; break;
  }
}

}  // namespace

std::string declarative_yaml(const DeclarativeConfig& c) {
  YAML::Emitter out;
  emit(out, declarative_json(c));
  return std::string(out.c_str()) + "\n";
}

json::value without_nulls(const json::value& value) {
  if (value.is_object()) {
    json::object out;
    for (const auto& [k, v] : value.as_object()) {
      if (!v.is_null()) out[k] = without_nulls(v);
    }
    return out;
  }
  if (value.is_array()) {
    json::array out;
    for (const auto& v : value.as_array()) out.push_back(without_nulls(v));
    return out;
  }
  return value;
}

json::object declarative_json(const DeclarativeConfig& c) {
  json::array services, routes, upstreams, consumers, keyauths, basicauths, jwts, acls, plugins;
  for (const auto& s : c.services) services.push_back(without_nulls(service_json(s)));
  for (const auto& r : c.routes) routes.push_back(without_nulls(route_json(r, c)));
  for (const auto& u : c.upstreams) {
    json::object o = without_nulls(upstream_json(u)).as_object();
    json::array targets;
    for (const auto& t : u.targets) {
      json::object to = without_nulls(target_json(t, u.id)).as_object();
      to.erase("upstream");  // nested: the upstream is the enclosing one
      targets.push_back(std::move(to));
    }
    if (!targets.empty()) o["targets"] = std::move(targets);
    upstreams.push_back(std::move(o));
  }
  for (const auto& k : c.consumers) {
    consumers.push_back(without_nulls(consumer_json(k)));
    for (const auto& cred : k.keyauth_credentials) keyauths.push_back(without_nulls(keyauth_json(cred, k.id)));
    for (const auto& cred : k.jwt_secrets) jwts.push_back(without_nulls(jwt_secret_json(cred, k.id)));
    for (const auto& cred : k.acls) acls.push_back(without_nulls(acl_json(cred, k.id)));
    for (const auto& cred : k.basicauth_credentials) basicauths.push_back(without_nulls(basicauth_json(cred, k.id)));
  }
  for (const auto& p : c.plugins) plugins.push_back(without_nulls(plugin_json(p, c)));
  json::array certificates;
  for (std::size_t i = 0; i < c.certificates.size(); ++i) {
    json::object o = without_nulls(certificate_json(c.certificates[i], c)).as_object();
    json::array snis;  // nested entries, as Kong's declarative format has them
    for (const auto& s : c.snis) {
      if (s.certificate_index != i) continue;
      json::object so = without_nulls(sni_json(s, c)).as_object();
      so.erase("certificate");
      snis.push_back(std::move(so));
    }
    o.erase("snis");
    if (!snis.empty()) o["snis"] = std::move(snis);
    certificates.push_back(std::move(o));
  }
  json::array ca_certificates;
  for (const auto& ca : c.ca_certificates) ca_certificates.push_back(without_nulls(ca_certificate_json(ca)));
  json::object doc{{"_format_version", "3.0"}};
  auto put = [&doc](const char* key, json::array& list) {
    if (!list.empty()) doc[key] = std::move(list);
  };
  put("services", services);
  put("routes", routes);
  put("upstreams", upstreams);
  put("consumers", consumers);
  put("keyauth_credentials", keyauths);
  put("basicauth_credentials", basicauths);
  put("jwt_secrets", jwts);
  put("acls", acls);
  put("plugins", plugins);
  put("certificates", certificates);
  put("ca_certificates", ca_certificates);
  return doc;
}

}  // namespace portico::config
