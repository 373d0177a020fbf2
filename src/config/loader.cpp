#include "config/loader.hpp"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cstdio>
#include <fstream>
#include <functional>
#include <re2/re2.h>
#include <set>
#include <sstream>
#include <tuple>

#include "config/validators.hpp"

namespace portico::config {

std::string ConfigError::to_string() const {
  std::string out = file;
  if (mark.line > 0) out += ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column);
  out += ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

namespace {

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

// The i-th element of a sequence node, or the node itself (for its position in errors).
YAML::Node element_or(const YAML::Node& seq, std::size_t i) {
  if (seq.IsSequence() && i < seq.size()) return seq[i];
  return seq;
}

SourceMark mark_of(const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

using FieldHandler = std::function<void(const YAML::Node& value, const std::string& path)>;
using FieldTable = std::map<std::string, FieldHandler, std::less<>>;

// Kong entity fields Portico knows but does not implement yet: rejected with a clear
// message rather than silently ignored (an ignored auth plugin would be a security hole).
const std::set<std::string, std::less<>> kNotYetSupportedTopLevel = {
    "plugins", "consumers", "certificates", "ca_certificates", "snis", "vaults", "keys", "key_sets",
    "jwt_secrets", "keyauth_credentials", "basicauth_credentials", "acls"};

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  LoadResult run(const std::string& text) {
    LoadResult result;
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      add({e.mark.line + 1, e.mark.column + 1}, "", "invalid YAML: " + e.msg);
      result.errors = std::move(errors_);
      return result;
    }
    if (!root.IsMap()) {
      add(mark_of(root), "", "expected a mapping at the top level");
      result.errors = std::move(errors_);
      return result;
    }
    cfg_.hash = md5_hex(text);
    read_root(root);
    if (errors_.empty()) resolve_references();
    // Report in file order (nested routes are read after their service's own fields).
    std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
      return std::tie(a.mark.line, a.mark.column) < std::tie(b.mark.line, b.mark.column);
    });
    result.config = std::move(cfg_);
    result.errors = std::move(errors_);
    return result;
  }

 private:
  struct PendingRoute {
    std::string service_ref;  // name or id; empty when nested
    YAML::Node service_node;
    std::string path;
  };

  void add(SourceMark mark, std::string path, std::string message) {
    errors_.push_back({file_, mark, std::move(path), std::move(message)});
  }
  void add(const YAML::Node& n, std::string path, std::string message) {
    add(mark_of(n), std::move(path), std::move(message));
  }

  void read_object(const YAML::Node& node, const std::string& path, const FieldTable& fields,
                   const std::set<std::string, std::less<>>& not_yet = {}) {
    if (!node.IsMap()) {
      add(node, path, "expected a mapping");
      return;
    }
    for (const auto& kv : node) {
      std::string key;
      try {
        key = kv.first.as<std::string>();
      } catch (const YAML::Exception&) {
        add(kv.first, path, "expected a string key");
        continue;
      }
      std::string child = path.empty() ? key : path + "." + key;
      auto it = fields.find(key);
      if (it != fields.end()) {
        if (!kv.second.IsNull()) it->second(kv.second, child);
      } else if (not_yet.count(key)) {
        add(kv.first, child, "not supported yet by Portico");
      } else {
        add(kv.first, child, "unknown field");
      }
    }
  }

  // Typed field readers. Each reports a precise error and leaves the target unchanged.
  FieldHandler string_field(std::string& out) {
    return [this, &out](const YAML::Node& v, const std::string& path) {
      if (!v.IsScalar()) return add(v, path, "expected a string");
      out = v.Scalar();
    };
  }
  FieldHandler int_field(int& out, long long min, long long max) {
    return [this, &out, min, max](const YAML::Node& v, const std::string& path) {
      long long value = 0;
      if (!v.IsScalar() || !parse_integer(v.Scalar(), value)) return add(v, path, "expected an integer");
      if (value < min || value > max) {
        return add(v, path, "value must be between " + std::to_string(min) + " and " + std::to_string(max));
      }
      out = static_cast<int>(value);
    };
  }
  FieldHandler bool_field(bool& out) {
    return [this, &out](const YAML::Node& v, const std::string& path) {
      if (!v.IsScalar()) return add(v, path, "expected a boolean");
      const std::string& s = v.Scalar();
      if (s == "true") out = true;
      else if (s == "false") out = false;
      else add(v, path, "expected a boolean");
    };
  }
  FieldHandler string_list_field(std::vector<std::string>& out) {
    return [this, &out](const YAML::Node& v, const std::string& path) {
      if (!v.IsSequence()) return add(v, path, "expected an array of strings");
      out.clear();
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (!v[i].IsScalar()) {
          add(v[i], path + "[" + std::to_string(i) + "]", "expected a string");
          continue;
        }
        out.push_back(v[i].Scalar());
      }
    };
  }
  FieldHandler ignored() {
    return [](const YAML::Node&, const std::string&) {};
  }

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
    };
    read_object(root, "", fields, kNotYetSupportedTopLevel);
    if (cfg_.format_version.empty()) add(mark_of(root), "_format_version", "required field missing");
  }

  template <typename Fn>
  void read_list(const YAML::Node& v, const std::string& path, Fn fn) {
    if (!v.IsSequence()) return add(v, path, "expected an array");
    for (std::size_t i = 0; i < v.size(); ++i) {
      std::string p = path + "[" + std::to_string(i) + "]";
      YAML::Node item = v[i];
      fn(item, p);
    }
  }

  void read_service(const YAML::Node& node, const std::string& path) {
    ServiceConfig s;
    s.mark = mark_of(node);
    std::string url;
    bool has_host = false, has_port = false, has_protocol = false, has_path = false;
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
        {"enabled", bool_field(s.enabled)},
        {"tags", string_list_field(s.tags)},
        {"created_at", ignored()},
        {"updated_at", ignored()},
        {"routes", [&](const YAML::Node& v, const std::string& p) { routes_node.reset(v); routes_path = p; has_routes = true; }},
    };
    read_object(node, path, fields, {"plugins", "client_certificate", "tls_verify", "tls_verify_depth", "ca_certificates"});
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
    read_object(node, path, fields, {"plugins", "snis", "sources", "destinations"});
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
          RE2 re(values[i].substr(2), RE2::Quiet);
          if (!re.ok()) add(kv.second, p + "[" + std::to_string(i) + "]", "invalid regex: " + re.error());
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
    u.mark = mark_of(node);
    FieldTable fields{
        {"id", string_field(u.id)},
        {"name", string_field(u.name)},
        {"algorithm", string_field(u.algorithm)},
        {"slots", int_field(u.slots, 10, 65536)},
        {"host_header", string_field(u.host_header)},
        {"tags", string_list_field(u.tags)},
        {"created_at", ignored()},
        {"updated_at", ignored()},
        {"targets", [&](const YAML::Node& v, const std::string& p) {
           read_list(v, p, [&](const YAML::Node& tn, const std::string& tp) { read_target(tn, tp, u); });
         }},
    };
    read_object(node, path, fields,
                {"hash_on", "hash_fallback", "hash_on_header", "hash_fallback_header", "hash_on_cookie",
                 "hash_on_cookie_path", "hash_on_query_arg", "hash_fallback_query_arg", "hash_on_uri_capture",
                 "hash_fallback_uri_capture", "healthchecks", "client_certificate", "use_srv_name"});
    if (!node.IsMap()) return;
    if (u.name.empty()) add(node, path + ".name", "required field missing");
    else if (!is_valid_hostname(u.name)) add(node["name"], path + ".name", "invalid upstream name (must be a hostname)");
    else if (!upstream_names_.insert(u.name).second) add(node["name"], path + ".name", "duplicate upstream name '" + u.name + "'");
    if (u.algorithm != "round-robin") {
      if (u.algorithm == "least-connections" || u.algorithm == "consistent-hashing" || u.algorithm == "latency") {
        add(node["algorithm"], path + ".algorithm", "algorithm '" + u.algorithm + "' is not supported yet by Portico");
      } else {
        add(node["algorithm"], path + ".algorithm", "expected one of: round-robin, consistent-hashing, least-connections, latency");
      }
    }
    if (u.id.empty()) u.id = derive_entity_id("upstream", u.name);
    cfg_.upstreams.push_back(std::move(u));
  }

  void read_target(const YAML::Node& node, const std::string& path, UpstreamConfig& u) {
    TargetConfig t;
    t.mark = mark_of(node);
    FieldTable fields{
        {"id", ignored()},
        {"target", string_field(t.target)},
        {"weight", int_field(t.weight, 0, 65535)},
        {"tags", string_list_field(t.tags)},
        {"created_at", ignored()},
        {"updated_at", ignored()},
        {"upstream", ignored()},
    };
    read_object(node, path, fields);
    if (!node.IsMap()) return;
    if (t.target.empty()) return add(node, path + ".target", "required field missing");
    if (!split_host_port(t.target, t.host, t.port, 8000)) return add(node["target"], path + ".target", "invalid target '" + t.target + "' (expected host[:port])");
    u.targets.push_back(std::move(t));
  }

  void resolve_references() {
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
  }

  std::string file_;
  DeclarativeConfig cfg_;
  std::vector<ConfigError> errors_;
  std::vector<PendingRoute> pending_;
  std::vector<std::size_t> pending_route_index_;
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
