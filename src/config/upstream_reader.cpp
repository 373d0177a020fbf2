#include "config/upstream_reader.hpp"

#include "config/loader.hpp"
#include "config/validators.hpp"

namespace portico::config {
namespace {

void read_target(YamlReader& r, const YAML::Node& node, const std::string& path, UpstreamConfig& u) {
  TargetConfig t;
  t.mark = mark_of(node);
  FieldTable fields{
      {"id", r.string_field(t.id)},
      {"target", r.string_field(t.target)},
      {"weight", r.int_field(t.weight, 0, 65535)},
      {"tags", r.string_list_field(t.tags)},
      {"created_at", r.ignored()},
      {"updated_at", r.ignored()},
      {"upstream", r.ignored()},
  };
  r.read_object(node, path, fields);
  if (!node.IsMap()) return;
  if (t.target.empty()) return r.add(node, path + ".target", "required field missing");
  if (!split_host_port(t.target, t.host, t.port, 8000)) {
    return r.add(node["target"], path + ".target", "invalid target '" + t.target + "' (expected host[:port])");
  }
  for (const auto& other : u.targets) {
    if (other.host == t.host && other.port == t.port) {
      return r.add(node["target"], path + ".target", "duplicate target '" + t.target + "'");
    }
  }
  u.targets.push_back(std::move(t));
}

// healthy/unhealthy blocks; passive ones have no interval.
void read_healthy(YamlReader& r, const YAML::Node& node, const std::string& path, HealthyRule& h, bool active) {
  FieldTable fields{
      {"successes", r.int_field(h.successes, 0, 255)},
      {"http_statuses", r.int_list_field(h.http_statuses, 100, 999)},
  };
  if (active) fields.emplace("interval", r.number_field(h.interval, 0, 65535));
  r.read_object(node, path, fields);
}

void read_unhealthy(YamlReader& r, const YAML::Node& node, const std::string& path, UnhealthyRule& h, bool active) {
  FieldTable fields{
      {"http_failures", r.int_field(h.http_failures, 0, 255)},
      {"tcp_failures", r.int_field(h.tcp_failures, 0, 255)},
      {"timeouts", r.int_field(h.timeouts, 0, 255)},
      {"http_statuses", r.int_list_field(h.http_statuses, 100, 999)},
  };
  if (active) fields.emplace("interval", r.number_field(h.interval, 0, 65535));
  else fields.emplace("fail_timeout", r.number_field(h.fail_timeout, 0, 65535));
  r.read_object(node, path, fields);
}

void read_active(YamlReader& r, const YAML::Node& node, const std::string& path, ActiveHealthcheck& a) {
  FieldTable fields{
      {"type", r.enum_field(a.type, {"http", "https", "tcp"})},
      {"http_path", r.string_field(a.http_path)},
      {"timeout", r.number_field(a.timeout, 0, 65535)},
      {"concurrency", r.int_field(a.concurrency, 1, 2147483647)},
      {"https_verify_certificate", r.bool_field(a.https_verify_certificate)},
      {"https_sni", r.string_field(a.https_sni)},
      {"headers", [&](const YAML::Node& v, const std::string& p) {
         if (!v.IsMap()) return r.add(v, p, "expected a mapping of header name to values");
         for (const auto& kv : v) {
           std::string name = kv.first.as<std::string>("");
           if (!is_valid_header_name(name)) {
             r.add(kv.first, p + "." + name, "invalid header name");
             continue;
           }
           std::vector<std::string> values;
           if (kv.second.IsScalar()) values.push_back(kv.second.Scalar());
           else r.string_list_field(values)(kv.second, p + "." + name);
           a.headers[name] = std::move(values);
         }
       }},
      {"healthy", [&](const YAML::Node& v, const std::string& p) { read_healthy(r, v, p, a.healthy, true); }},
      {"unhealthy", [&](const YAML::Node& v, const std::string& p) { read_unhealthy(r, v, p, a.unhealthy, true); }},
  };
  r.read_object(node, path, fields);
  if (a.http_path.empty() || a.http_path[0] != '/') r.add(node["http_path"], path + ".http_path", "should start with: /");
}

void read_passive(YamlReader& r, const YAML::Node& node, const std::string& path, PassiveHealthcheck& p) {
  FieldTable fields{
      {"type", r.enum_field(p.type, {"http", "https", "tcp"})},
      {"healthy", [&](const YAML::Node& v, const std::string& q) { read_healthy(r, v, q, p.healthy, false); }},
      {"unhealthy", [&](const YAML::Node& v, const std::string& q) { read_unhealthy(r, v, q, p.unhealthy, false); }},
  };
  r.read_object(node, path, fields);
  // A trial request after fail_timeout must be able to bring the address back.
  if (p.unhealthy.fail_timeout > 0 && p.healthy.successes == 0) p.healthy.successes = 1;
}

void read_healthchecks(YamlReader& r, const YAML::Node& node, const std::string& path, Healthchecks& h) {
  FieldTable fields{
      {"active", [&](const YAML::Node& v, const std::string& p) { read_active(r, v, p, h.active); }},
      {"passive", [&](const YAML::Node& v, const std::string& p) { read_passive(r, v, p, h.passive); }},
      {"threshold", r.number_field(h.threshold, 0, 100)},
  };
  r.read_object(node, path, fields);
}

// Kong's rules for hash_on / hash_fallback and the fields each choice requires.
void validate_hashing(YamlReader& r, const YAML::Node& node, const std::string& path, const UpstreamConfig& u) {
  // e.g. hash_on: header requires hash_on_header.
  auto require = [&](const char* selector, const std::string& choice, const char* kind, const std::string& value,
                     const char* key) {
    if (choice != kind || !value.empty()) return;
    r.add(node[key] ? node[key] : node, path + "." + key, std::string("required when ") + selector + " is '" + kind + "'");
  };
  require("hash_on", u.hash_on, "header", u.hash_on_header, "hash_on_header");
  require("hash_fallback", u.hash_fallback, "header", u.hash_fallback_header, "hash_fallback_header");
  require("hash_on", u.hash_on, "query_arg", u.hash_on_query_arg, "hash_on_query_arg");
  require("hash_fallback", u.hash_fallback, "query_arg", u.hash_fallback_query_arg, "hash_fallback_query_arg");
  require("hash_on", u.hash_on, "uri_capture", u.hash_on_uri_capture, "hash_on_uri_capture");
  require("hash_fallback", u.hash_fallback, "uri_capture", u.hash_fallback_uri_capture, "hash_fallback_uri_capture");
  if ((u.hash_on == "cookie" || u.hash_fallback == "cookie") && u.hash_on_cookie.empty()) {
    r.add(node, path + ".hash_on_cookie", "required when hash_on or hash_fallback is 'cookie'");
  }
  if (u.hash_on == "none" && u.hash_fallback != "none") {
    r.add(node["hash_fallback"], path + ".hash_fallback", "must be 'none' when hash_on is 'none'");
  }
  if (u.hash_on == "cookie" && u.hash_fallback != "none") {
    r.add(node["hash_fallback"], path + ".hash_fallback", "must be 'none' when hash_on is 'cookie' (the cookie is always set)");
  }
  if (u.hash_on != "none" && u.hash_on == u.hash_fallback && u.hash_on != "header" && u.hash_on != "query_arg" &&
      u.hash_on != "uri_capture") {
    r.add(node["hash_fallback"], path + ".hash_fallback", "must differ from hash_on");
  }
  if (u.hash_on != "none" && u.algorithm != "consistent-hashing") {
    r.add(node["hash_on"], path + ".hash_on", "only used with algorithm 'consistent-hashing'");
  }
  if (!u.hash_on_cookie_path.empty() && u.hash_on_cookie_path[0] != '/') {
    r.add(node["hash_on_cookie_path"], path + ".hash_on_cookie_path", "should start with: /");
  }
}

}  // namespace

void read_upstream(YamlReader& r, const YAML::Node& node, const std::string& path, UpstreamConfig& u) {
  u.mark = mark_of(node);
  static const std::initializer_list<const char*> kHashInputs = {"none", "consumer", "ip", "header", "cookie",
                                                                 "path", "query_arg", "uri_capture"};
  FieldTable fields{
      {"id", r.string_field(u.id)},
      {"name", r.string_field(u.name)},
      {"algorithm", r.enum_field(u.algorithm, {"round-robin", "consistent-hashing", "least-connections", "latency"})},
      {"slots", r.int_field(u.slots, 10, 65536)},
      {"host_header", r.string_field(u.host_header)},
      {"hash_on", r.enum_field(u.hash_on, kHashInputs)},
      {"hash_fallback", r.enum_field(u.hash_fallback, kHashInputs)},
      {"hash_on_header", r.string_field(u.hash_on_header)},
      {"hash_fallback_header", r.string_field(u.hash_fallback_header)},
      {"hash_on_cookie", r.string_field(u.hash_on_cookie)},
      {"hash_on_cookie_path", r.string_field(u.hash_on_cookie_path)},
      {"hash_on_query_arg", r.string_field(u.hash_on_query_arg)},
      {"hash_fallback_query_arg", r.string_field(u.hash_fallback_query_arg)},
      {"hash_on_uri_capture", r.string_field(u.hash_on_uri_capture)},
      {"hash_fallback_uri_capture", r.string_field(u.hash_fallback_uri_capture)},
      {"healthchecks", [&](const YAML::Node& v, const std::string& p) { read_healthchecks(r, v, p, u.healthchecks); }},
      {"max_connections", r.int_field(u.max_connections, 0, 2147483647)},
      {"max_pending_requests", r.int_field(u.max_pending_requests, 0, 2147483647)},
      {"max_requests", r.int_field(u.max_requests, 0, 2147483647)},
      {"tags", r.string_list_field(u.tags)},
      {"created_at", r.ignored()},
      {"updated_at", r.ignored()},
      {"targets", [&](const YAML::Node& v, const std::string& p) {
         r.read_list(v, p, [&](const YAML::Node& tn, const std::string& tp) { read_target(r, tn, tp, u); });
       }},
  };
  r.read_object(node, path, fields, {"client_certificate", "use_srv_name"});
  if (!node.IsMap()) return;
  if (u.name.empty()) r.add(node, path + ".name", "required field missing");
  else if (!is_valid_hostname(u.name)) r.add(node["name"], path + ".name", "invalid upstream name (must be a hostname)");
  validate_hashing(r, node, path, u);
  for (auto& t : u.targets) {
    if (t.id.empty()) t.id = derive_entity_id("target", u.name + "/" + t.target);
  }
  u.hash_on_header = to_lower(u.hash_on_header);
  u.hash_fallback_header = to_lower(u.hash_fallback_header);
}

}  // namespace portico::config
