#include "config/loader.hpp"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cstdio>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <tuple>

#include "config/kong_regex.hpp"
#include "config/validators.hpp"
#include "config/consumer_reader.hpp"
#include "config/plugin_reader.hpp"
#include "config/upstream_reader.hpp"
#include "config/yaml_reader.hpp"

namespace portico::config {

std::string ConfigError::to_string() const {
  std::string out = file;
  if (mark.line > 0) out += ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column);
  out += ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

std::string md5_hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_md5(), nullptr);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    hex += buf;
  }
  return hex;
}

namespace {

// Kong entity fields Portico knows but does not implement yet: rejected with a clear
// message rather than silently ignored (an ignored auth plugin would be a security hole).
const std::set<std::string, std::less<>> kNotYetSupportedTopLevel = {
    "certificates", "ca_certificates", "snis", "vaults", "keys", "key_sets"};

class Loader : public YamlReader {
 public:
  explicit Loader(std::string file) : YamlReader(std::move(file)) {}

  LoadResult run(const std::string& text) {
    LoadResult result;
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      add({e.mark.line + 1, e.mark.column + 1}, "", "invalid YAML: " + e.msg);
      result.errors = std::move(errors());
      return result;
    }
    if (!root.IsMap()) {
      add(mark_of(root), "", "expected a mapping at the top level");
      result.errors = std::move(errors());
      return result;
    }
    cfg_.hash = md5_hex(text);
    read_root(root);
    if (errors().empty()) resolve_references();
    // Report in file order (nested routes are read after their service's own fields).
    std::stable_sort(errors().begin(), errors().end(), [](const ConfigError& a, const ConfigError& b) {
      return std::tie(a.mark.line, a.mark.column) < std::tie(b.mark.line, b.mark.column);
    });
    result.config = std::move(cfg_);
    result.errors = std::move(errors());
    return result;
  }

 private:
  struct PendingRoute {
    std::string service_ref;  // name or id; empty when nested
    YAML::Node service_node;
    std::string path;
  };

  void read_root(const YAML::Node& root) {
    FieldTable fields{
        {"_format_version", [this](const YAML::Node& v, const std::string& path) {
           if (!v.IsScalar()) return add(v, path, "expected a string");
           cfg_.format_version = v.Scalar();
           if (cfg_.format_version != "3.0") add(v, path, "unsupported format version (expected \"3.0\")");
         }},
        {"_transform", ignored()},
        {"_comment", ignored()},
        {"_info", ignored()},
        {"_workspace", ignored()},
        {"services", [this](const YAML::Node& v, const std::string& path) { read_list(v, path, [this](auto& n, auto& p) { read_service(n, p); }); }},
        {"routes", [this](const YAML::Node& v, const std::string& path) { read_list(v, path, [this](auto& n, auto& p) { read_route(n, p, std::nullopt); }); }},
        {"upstreams", [this](const YAML::Node& v, const std::string& path) { read_list(v, path, [this](auto& n, auto& p) { read_upstream(n, p); }); }},
        {"consumers", [this](const YAML::Node& v, const std::string& path) {
           read_list(v, path, [this](auto& n, auto& p) { consumers_.read_consumer(n, p, cfg_.consumers); });
         }},
        {"keyauth_credentials", top_level_credentials("keyauth_credentials")},
        {"basicauth_credentials", top_level_credentials("basicauth_credentials")},
        {"jwt_secrets", top_level_credentials("jwt_secrets")},
        {"acls", top_level_credentials("acls")},
        {"plugins", [this](const YAML::Node& v, const std::string& path) {
           read_list(v, path, [this](auto& n, auto& p) { read_top_level_plugin(*this, n, p, plugins_); });
         }},
    };
    read_object(root, "", fields, kNotYetSupportedTopLevel);
    if (cfg_.format_version.empty()) add(mark_of(root), "_format_version", "required field missing");
  }

  void read_service(const YAML::Node& node, const std::string& path) {
    ServiceConfig s;
    s.mark = mark_of(node);
    std::string url;
    bool has_host = false, has_port = false, has_protocol = false, has_path = false;
    bool has_budget_percent = false, has_budget_reserve = false;
    std::optional<std::string> explicit_path;
    YAML::Node routes_node;
    bool has_routes = false;
    std::string routes_path;
    FieldTable fields{
        {"id", string_field(s.id)},
        {"name", string_field(s.name)},
        {"url", string_field(url)},
        {"protocol", [&](const YAML::Node& v, const std::string& p) { has_protocol = true; string_field(s.protocol)(v, p); }},
        {"host", [&](const YAML::Node& v, const std::string& p) { has_host = true; string_field(s.host)(v, p); }},
        {"port", [&](const YAML::Node& v, const std::string& p) { has_port = true; int_field(s.port, 0, 65535)(v, p); }},
        {"path", [&](const YAML::Node& v, const std::string& p) {
           has_path = true;
           std::string value;
           string_field(value)(v, p);
           explicit_path = value;
           if (!value.empty() && value[0] != '/') add(v, p, "should start with: /");
         }},
        {"retries", int_field(s.retries, 0, 32767)},
        {"connect_timeout", int_field(s.connect_timeout_ms, 1, 2147483646)},
        {"write_timeout", int_field(s.write_timeout_ms, 1, 2147483646)},
        {"read_timeout", int_field(s.read_timeout_ms, 1, 2147483646)},
        {"retry_on_statuses", int_list_field(s.retry_on_statuses, 500, 599)},
        {"retry_backoff_base", int_field(s.retry_backoff_base_ms, 0, 60000)},
        {"retry_backoff_max", int_field(s.retry_backoff_max_ms, 0, 600000)},
        {"retry_budget_percent", [&](const YAML::Node& v, const std::string& p) {  // null: the default, off
           has_budget_percent = true;
           int_field(s.retry_budget_percent, 0, 100)(v, p);
         }},
        {"retry_budget_min_per_second", [&](const YAML::Node& v, const std::string& p) {
           has_budget_reserve = true;
           int_field(s.retry_budget_min_per_second, 0, 1000000)(v, p);
         }},
        {"retry_budget_min_concurrency", [&](const YAML::Node& v, const std::string& p) {
           add(v, p, "replaced by retry_budget_min_per_second (a reserve of retries per second; see docs/upstreams.md)");
         }},
        {"request_timeout", int_field(s.request_timeout_ms, 0, 2147483646)},
        {"plugins", [&](const YAML::Node& v, const std::string& p) {
           read_nested_plugins(*this, v, p, PluginOwner::service, cfg_.services.size(), plugins_);
         }},
        {"enabled", bool_field(s.enabled)},
        {"tags", string_list_field(s.tags)},
        {"created_at", ignored()},
        {"updated_at", ignored()},
        {"routes", [&](const YAML::Node& v, const std::string& p) { routes_node.reset(v); routes_path = p; has_routes = true; }},
    };
    read_object(node, path, fields, {"client_certificate", "tls_verify", "tls_verify_depth", "ca_certificates"});
    if (!node.IsMap()) return;

    if (!url.empty()) {
      if (has_host || has_port || has_protocol || has_path) {
        add(node, path, "url cannot be combined with protocol, host, port or path");
      }
      parse_service_url(node["url"], path + ".url", url, s);
    } else if (s.host.empty()) {
      add(node, path, "must set either 'url' or 'host'");
    } else {
      if (explicit_path) s.path = *explicit_path;
      if (!has_port) s.port = s.protocol == "https" ? 443 : 80;
    }
    if (s.protocol == "https") {
      add(node, path + ".protocol", "https upstreams are not supported yet by Portico");
    } else if (s.protocol != "http") {
      add(node, path + ".protocol", "expected one of: http, https");
    }
    if (!s.host.empty() && !is_valid_hostname(s.host)) add(node, path + ".host", "invalid hostname: " + s.host);
    if (has_budget_reserve && !has_budget_percent) {
      add(node["retry_budget_min_per_second"], path + ".retry_budget_min_per_second",
          "has no effect without retry_budget_percent (the retry budget is off unless retry_budget_percent is set)");
    }
    if (!s.name.empty() && !is_valid_entity_name(s.name)) add(node, path + ".name", "invalid name: must match [a-zA-Z0-9.-_~]+");
    if (!s.name.empty() && !service_names_.insert(s.name).second) add(node, path + ".name", "duplicate service name '" + s.name + "'");
    if (s.id.empty()) s.id = derive_entity_id("service", s.name.empty() ? path : s.name);
    cfg_.services.push_back(std::move(s));
    std::size_t index = cfg_.services.size() - 1;
    if (has_routes) read_list(routes_node, routes_path, [&](auto& n, auto& p) { read_route(n, p, index); });
  }

  void parse_service_url(const YAML::Node& node, const std::string& path, const std::string& url, ServiceConfig& s) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) return add(node, path, "invalid url: " + url);
    s.protocol = std::string(parsed->scheme());
    if (parsed->has_userinfo()) return add(node, path, "url must not contain credentials (user@): " + url);
    s.host = std::string(parsed->host());
    if (s.host.empty()) return add(node, path, "url has no host: " + url);
    if (parsed->has_port()) {
      long long port = 0;
      if (!parse_integer(std::string(parsed->port()), port) || port < 0 || port > 65535) return add(node, path, "invalid port in url");
      s.port = static_cast<int>(port);
    } else {
      s.port = s.protocol == "https" ? 443 : 80;
    }
    s.path = std::string(parsed->encoded_path());
    if (parsed->has_query() || parsed->has_fragment()) add(node, path, "url must not have a query or fragment");
  }

  void read_route(const YAML::Node& node, const std::string& path, std::optional<std::size_t> service_index) {
    RouteConfig r;
    r.mark = mark_of(node);
    std::string service_ref;
    YAML::Node service_node;
    FieldTable fields{
        {"id", string_field(r.id)},
        {"name", string_field(r.name)},
        {"protocols", string_list_field(r.protocols)},
        {"methods", string_list_field(r.methods)},
        {"hosts", string_list_field(r.hosts)},
        {"paths", string_list_field(r.paths)},
        {"headers", [&](const YAML::Node& v, const std::string& p) { read_route_headers(v, p, r); }},
        {"strip_path", bool_field(r.strip_path)},
        {"preserve_host", bool_field(r.preserve_host)},
        {"regex_priority", int_field(r.regex_priority, -2147483647, 2147483647)},
        {"path_handling", string_field(r.path_handling)},
        {"https_redirect_status_code", [&](const YAML::Node& v, const std::string& p) {
           int code = 0;
           int_field(code, 0, 999)(v, p);
           if (code == 0) return;
           if (code != 426 && code != 301 && code != 302 && code != 307 && code != 308) {
             return add(v, p, "expected one of: 426, 301, 302, 307, 308");
           }
           r.https_redirect_status_code = code;
         }},
        {"request_buffering", bool_field(r.request_buffering)},
        {"response_buffering", bool_field(r.response_buffering)},
        {"tags", string_list_field(r.tags)},
        {"created_at", ignored()},
        {"updated_at", ignored()},
        {"plugins", [&](const YAML::Node& v, const std::string& p) {
           read_nested_plugins(*this, v, p, PluginOwner::route, cfg_.routes.size(), plugins_);
         }},
        {"service", [&](const YAML::Node& v, const std::string& p) {
           service_node.reset(v);
           if (service_index) return add(v, p, "a nested route cannot name its service");
           if (v.IsScalar()) {
             service_ref = v.Scalar();
           } else if (v.IsMap() && (v["name"] || v["id"])) {
             service_ref = (v["name"] ? v["name"] : v["id"]).as<std::string>("");
           } else {
             add(v, p, "expected a service name or {name: ...} / {id: ...}");
           }
         }},
    };
    read_object(node, path, fields, {"snis", "sources", "destinations"});
    if (!node.IsMap()) return;
    validate_route(node, path, r);
    if (!r.name.empty() && !route_names_.insert(r.name).second) add(node, path + ".name", "duplicate route name '" + r.name + "'");
    if (r.id.empty()) r.id = derive_entity_id("route", r.name.empty() ? path : r.name);
    if (service_index) {
      r.service_index = *service_index;
    } else if (service_ref.empty()) {
      add(node, path + ".service", "required field missing");
    } else {
      pending_.push_back({service_ref, service_node, path + ".service"});
      pending_route_index_.push_back(cfg_.routes.size());
    }
    cfg_.routes.push_back(std::move(r));
  }

  void read_route_headers(const YAML::Node& v, const std::string& path, RouteConfig& r) {
    if (!v.IsMap()) return add(v, path, "expected a mapping of header name to values");
    for (const auto& kv : v) {
      std::string name = kv.first.as<std::string>("");
      std::string p = path + "." + name;
      std::string lower = to_lower(name);
      if (lower == "host") {
        add(kv.first, p, "cannot contain 'host' header, which must be specified in the 'hosts' attribute");
        continue;
      }
      if (!is_valid_header_name(name)) {
        add(kv.first, p, "invalid header name");
        continue;
      }
      std::vector<std::string> values;
      if (kv.second.IsScalar()) {
        values.push_back(kv.second.Scalar());
      } else if (kv.second.IsSequence()) {
        for (std::size_t i = 0; i < kv.second.size(); ++i) {
          if (!kv.second[i].IsScalar()) {
            add(kv.second[i], p + "[" + std::to_string(i) + "]", "expected a string");
            continue;
          }
          values.push_back(kv.second[i].Scalar());
        }
      } else {
        add(kv.second, p, "expected a string or an array of strings");
        continue;
      }
      if (values.empty()) add(kv.second, p, "length must be at least 1");
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (values[i].rfind("~*", 0) == 0) {
          auto re = compile_kong_regex(std::string_view(values[i]).substr(2));
          if (!re.ok()) add(element_or(kv.second, i), p + "[" + std::to_string(i) + "]", re.error().message);
        }
      }
      r.headers[lower] = std::move(values);
    }
  }

  void validate_route(const YAML::Node& node, const std::string& path, RouteConfig& r) {
    for (const auto& proto : r.protocols) {
      if (proto != "http" && proto != "https") add(node["protocols"], path + ".protocols", "unsupported protocol '" + proto + "' (expected http or https)");
    }
    if (r.protocols.empty()) add(node["protocols"], path + ".protocols", "length must be at least 1");
    for (std::size_t i = 0; i < r.methods.size(); ++i) {
      if (!is_valid_method(r.methods[i])) add(element_or(node["methods"], i), path + ".methods[" + std::to_string(i) + "]", "invalid method '" + r.methods[i] + "' (expected an uppercase token)");
    }
    for (std::size_t i = 0; i < r.hosts.size(); ++i) {
      std::string err = validate_route_host(r.hosts[i]);
      if (!err.empty()) add(element_or(node["hosts"], i), path + ".hosts[" + std::to_string(i) + "]", err);
      r.hosts[i] = to_lower(r.hosts[i]);
    }
    for (std::size_t i = 0; i < r.paths.size(); ++i) {
      std::string err = validate_route_path(r.paths[i]);
      if (!err.empty()) add(element_or(node["paths"], i), path + ".paths[" + std::to_string(i) + "]", err);
    }
    if (r.path_handling != "v0" && r.path_handling != "v1") add(node["path_handling"], path + ".path_handling", "expected one of: v0, v1");
    if (r.methods.empty() && r.hosts.empty() && r.paths.empty() && r.headers.empty()) {
      add(node, path, "must set one of 'methods', 'hosts', 'headers', 'paths'");
    }
  }

  void read_upstream(const YAML::Node& node, const std::string& path) {
    UpstreamConfig u;
    config::read_upstream(*this, node, path, u);
    if (!node.IsMap()) return;
    if (!u.name.empty() && !upstream_names_.insert(u.name).second) {
      add(node["name"], path + ".name", "duplicate upstream name '" + u.name + "'");
    }
    if (u.id.empty()) u.id = derive_entity_id("upstream", u.name);
    cfg_.upstreams.push_back(std::move(u));
  }

  FieldHandler top_level_credentials(const char* kind) {
    return [this, kind](const YAML::Node& v, const std::string& path) { consumers_.read_top_level_credential(kind, v, path); };
  }

  void resolve_references() {
    consumers_.resolve(cfg_.consumers);
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      const auto& ref = pending_[i];
      bool found = false;
      for (std::size_t s = 0; s < cfg_.services.size(); ++s) {
        if (cfg_.services[s].name == ref.service_ref || cfg_.services[s].id == ref.service_ref) {
          cfg_.routes[pending_route_index_[i]].service_index = s;
          found = true;
          break;
        }
      }
      if (!found) add(ref.service_node, ref.path, "no service named '" + ref.service_ref + "'");
    }
    resolve_plugins(*this, plugins_, cfg_);
  }

  DeclarativeConfig cfg_;
  std::vector<PendingRoute> pending_;
  std::vector<std::size_t> pending_route_index_;
  std::vector<PendingPlugin> plugins_;
  ConsumerReader consumers_{*this, [this](const YAML::Node& v, const std::string& p, std::size_t index) {
                              read_nested_plugins(*this, v, p, PluginOwner::consumer, index, plugins_);
                            }};
  std::set<std::string> service_names_, route_names_, upstream_names_;
};

}  // namespace

std::string derive_entity_id(const std::string& kind, const std::string& key) {
  std::string h = md5_hex("portico:" + kind + ":" + key);
  // Shape it as a UUID (version 3-like: name based, MD5).
  h[12] = '3';
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20, 12);
}

LoadResult load_declarative_text(const std::string& text, const std::string& file_name) {
  try {
    return Loader(file_name).run(text);
  } catch (const std::exception& e) {
    LoadResult r;
    r.errors.push_back({file_name, {}, "", std::string("could not load configuration: ") + e.what()});
    return r;
  }
}

LoadResult load_declarative_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back({path, {}, "", "cannot open file"});
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return load_declarative_text(ss.str(), path);
}

}  // namespace portico::config
