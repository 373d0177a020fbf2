#include "config/loader.hpp"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <tuple>

#include "config/entity_records.hpp"
#include "config/kong_regex.hpp"
#include "config/yaml_json.hpp"
#include "config/validators.hpp"
#include "config/consumer_reader.hpp"
#include "config/plugin_reader.hpp"
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
    "vaults", "keys", "key_sets"};

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
        {"certificates", [this](const YAML::Node& v, const std::string& path) { read_list(v, path, [this](auto& n, auto& p) { read_certificate(n, p); }); }},
        {"snis", [this](const YAML::Node& v, const std::string& path) { read_list(v, path, [this](auto& n, auto& p) { read_sni(n, p, std::nullopt); }); }},
        {"ca_certificates", [this](const YAML::Node& v, const std::string& path) { read_list(v, path, [this](auto& n, auto& p) { read_ca_certificate(n, p); }); }},
    };
    read_object(root, "", fields, kNotYetSupportedTopLevel);
    if (cfg_.format_version.empty()) add(mark_of(root), "_format_version", "required field missing");
  }

  void read_service(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap()) return add(node, path, "expected a mapping");
    ServiceConfig s;
    s.mark = mark_of(node);
    read_with_record(service_record(), node, path, s, {"routes", "plugins", "client_certificate"});
    if (node["plugins"]) {
      read_nested_plugins(*this, node["plugins"], path + ".plugins", PluginOwner::service, cfg_.services.size(), plugins_);
    }
    read_service_tls_references(node, path, s);
    if (!s.name.empty() && !service_names_.insert(s.name).second) add(node["name"], path + ".name", "duplicate service name '" + s.name + "'");
    if (s.id.empty()) s.id = derive_entity_id("service", s.name.empty() ? path : s.name);
    cfg_.services.push_back(std::move(s));
    std::size_t index = cfg_.services.size() - 1;
    if (node["routes"]) {
      read_list(node["routes"], path + ".routes", [&](auto& n, auto& p) { read_route(n, p, index); });
    }
  }

  // A service's client_certificate ({id: ...} or the id) and ca_certificates ids, checked
  // against the file's certificates once everything is read.
  void read_service_tls_references(const YAML::Node& node, const std::string& path, ServiceConfig& s) {
    YAML::Node ref = node["client_certificate"];
    if (ref && !ref.IsNull() && !s.uses_tls()) {
      add(ref, path + ".client_certificate", "value must be null");
    } else {
      read_client_certificate(node, path, s.client_certificate);
    }
    YAML::Node cas = node["ca_certificates"];
    for (std::size_t i = 0; i < s.ca_certificates.size() && cas && cas.IsSequence(); ++i) {
      pending_tls_refs_.push_back({"ca_certificates", s.ca_certificates[i], cas[i], path + ".ca_certificates[" + std::to_string(i) + "]"});
    }
  }

  // A client_certificate reference ({id: ...} or the id), checked once everything is read.
  void read_client_certificate(const YAML::Node& node, const std::string& path, std::string& id) {
    YAML::Node ref = node["client_certificate"];
    if (!ref || ref.IsNull()) return;
    if (ref.IsScalar() || (ref.IsMap() && ref["id"] && ref["id"].IsScalar())) {
      id = ref.IsScalar() ? ref.Scalar() : ref["id"].Scalar();
      pending_tls_refs_.push_back({"certificates", id, ref, path + ".client_certificate"});
    } else {
      add(ref, path + ".client_certificate", "expected a certificate id or {id: ...}");
    }
  }

  void read_ca_certificate(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap()) return add(node, path, "expected a mapping");
    CaCertificateConfig c;
    c.mark = mark_of(node);
    read_with_record(ca_certificate_record(), node, path, c, {});
    if (c.id.empty()) c.id = derive_entity_id("ca_certificate", c.cert_digest.empty() ? path : c.cert_digest);
    for (std::size_t i = 0; i < cfg_.ca_certificates.size(); ++i) {
      if (!c.cert_digest.empty() && cfg_.ca_certificates[i].cert_digest == c.cert_digest) {
        add(node["cert"], path + ".cert", "the same certificate as ca_certificates[" + std::to_string(i) + "]");
      }
    }
    cfg_.ca_certificates.push_back(std::move(c));
  }

  void read_route(const YAML::Node& node, const std::string& path, std::optional<std::size_t> service_index) {
    if (!node.IsMap()) return add(node, path, "expected a mapping");
    RouteConfig r;
    r.mark = mark_of(node);
    read_with_record(route_record(), node, path, r, {"service", "plugins"});
    if (node["plugins"]) {
      read_nested_plugins(*this, node["plugins"], path + ".plugins", PluginOwner::route, cfg_.routes.size(), plugins_);
    }
    std::string service_ref;
    YAML::Node service_node = node["service"];
    if (service_node && !service_node.IsNull()) {
      if (service_index) {
        add(service_node, path + ".service", "a nested route cannot name its service");
      } else if (service_node.IsScalar()) {
        service_ref = service_node.Scalar();
      } else if (service_node.IsMap() && (service_node["name"] || service_node["id"])) {
        service_ref = (service_node["name"] ? service_node["name"] : service_node["id"]).as<std::string>("");
      } else {
        add(service_node, path + ".service", "expected a service name or {name: ...} / {id: ...}");
      }
    }
    if (!r.name.empty() && !route_names_.insert(r.name).second) add(node["name"], path + ".name", "duplicate route name '" + r.name + "'");
    if (r.id.empty()) r.id = derive_entity_id("route", r.name.empty() ? path : r.name);
    if (service_index) {
      r.service_index = *service_index;
    } else if (!service_ref.empty()) {
      pending_.push_back({service_ref, service_node, path + ".service"});
      pending_route_index_.push_back(cfg_.routes.size());
    }
    cfg_.routes.push_back(std::move(r));
  }

  void read_upstream(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap()) return add(node, path, "expected a mapping");
    UpstreamConfig u;
    u.mark = mark_of(node);
    read_with_record(upstream_record(), node, path, u, {"targets", "client_certificate"});
    read_client_certificate(node, path, u.client_certificate);
    if (node["targets"]) {
      read_list(node["targets"], path + ".targets", [&](auto& n, auto& p) { read_target(n, p, u); });
    }
    if (!u.name.empty() && !upstream_names_.insert(u.name).second) {
      add(node["name"], path + ".name", "duplicate upstream name '" + u.name + "'");
    }
    if (u.id.empty()) u.id = derive_entity_id("upstream", u.name);
    for (auto& t : u.targets) {
      if (t.id.empty()) t.id = derive_entity_id("target", u.name + "/" + t.target);
    }
    cfg_.upstreams.push_back(std::move(u));
  }

  void read_target(const YAML::Node& node, const std::string& path, UpstreamConfig& u) {
    if (!node.IsMap()) return add(node, path, "expected a mapping");
    TargetConfig t;
    t.mark = mark_of(node);
    std::size_t errors_before = errors().size();
    read_with_record(target_record(), node, path, t, {"upstream"});
    if (errors().size() != errors_before) return;
    for (const auto& other : u.targets) {
      if (other.host == t.host && other.port == t.port) {
        return add(node["target"], path + ".target", "duplicate target '" + t.target + "'");
      }
    }
    u.targets.push_back(std::move(t));
  }

  // A certificate, with its `snis` nested as names or as {name: ...} entries.
  void read_certificate(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap()) return add(node, path, "expected a mapping");
    CertificateConfig c;
    c.mark = mark_of(node);
    read_with_record(certificate_record(), node, path, c, {"snis"});
    if (c.id.empty()) c.id = derive_entity_id("certificate", path + "\n" + c.cert);
    std::size_t index = cfg_.certificates.size();
    cfg_.certificates.push_back(std::move(c));
    if (node["snis"] && !node["snis"].IsNull()) {
      read_list(node["snis"], path + ".snis", [&](auto& n, auto& p) { read_sni(n, p, index); });
    }
  }

  // An SNI: nested in its certificate (`certificate_index`), or at the top level naming it.
  void read_sni(const YAML::Node& node, const std::string& path, std::optional<std::size_t> certificate_index) {
    SniConfig s;
    s.mark = mark_of(node);
    if (node.IsScalar() && certificate_index) {
      YAML::Node entry(YAML::NodeType::Map);
      entry["name"] = node;
      read_with_record(sni_record(), entry, path, s, {});
    } else if (node.IsMap()) {
      read_with_record(sni_record(), node, path, s, {"certificate"});
    } else {
      return add(node, path, certificate_index ? "expected a name or a mapping" : "expected a mapping");
    }
    if (s.name.empty()) return;  // (the record reported it)
    if (!sni_names_.insert(s.name).second) return add(node.IsMap() ? node["name"] : node, path + ".name", s.name + " is duplicated");
    if (s.id.empty()) s.id = derive_entity_id("sni", s.name);
    YAML::Node ref = node.IsMap() ? node["certificate"] : YAML::Node();
    if (certificate_index) {
      if (ref && !ref.IsNull()) add(ref, path + ".certificate", "a nested sni cannot name its certificate");
      s.certificate_index = *certificate_index;
    } else if (!ref || ref.IsNull()) {
      add(node, path + ".certificate", "required field missing");
    } else if (ref.IsScalar() || (ref.IsMap() && ref["id"] && ref["id"].IsScalar())) {
      pending_snis_.push_back({ref.IsScalar() ? ref.Scalar() : ref["id"].Scalar(), ref, path + ".certificate", cfg_.snis.size()});
    } else {
      add(ref, path + ".certificate", "expected a certificate id or {id: ...}");
    }
    cfg_.snis.push_back(std::move(s));
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
    for (const auto& ref : pending_snis_) {
      for (std::size_t i = 0; i < cfg_.certificates.size(); ++i) {
        if (cfg_.certificates[i].id == ref.certificate_id) cfg_.snis[ref.sni_index].certificate_index = i;
      }
      if (cfg_.snis[ref.sni_index].certificate_index == SniConfig::kNone) {
        add(ref.node, ref.path, "no certificate with id '" + ref.certificate_id + "'");
      }
    }
    for (const auto& ref : pending_tls_refs_) {
      bool found = false;
      if (ref.kind == "certificates") {
        for (const auto& c : cfg_.certificates) found = found || c.id == ref.id;
        if (!found) add(ref.node, ref.path, "no certificate with id '" + ref.id + "'");
      } else {
        for (const auto& c : cfg_.ca_certificates) found = found || c.id == ref.id;
        if (!found) add(ref.node, ref.path, "no ca_certificate with id '" + ref.id + "'");
      }
    }
    // The shorthand `snis: [names]` is the Admin API's; in a file they are entries (above).
    for (auto& c : cfg_.certificates) c.snis.clear();
    resolve_plugins(*this, plugins_, cfg_);
  }

  DeclarativeConfig cfg_;
  std::vector<PendingRoute> pending_;
  std::vector<std::size_t> pending_route_index_;
  std::vector<PendingPlugin> plugins_;
  ConsumerReader consumers_{*this, [this](const YAML::Node& v, const std::string& p, std::size_t index) {
                              read_nested_plugins(*this, v, p, PluginOwner::consumer, index, plugins_);
                            }};
  struct PendingSni {
    std::string certificate_id;
    YAML::Node node;
    std::string path;
    std::size_t sni_index;
  };
  std::vector<PendingSni> pending_snis_;
  struct PendingTlsRef {
    std::string kind;  // "certificates" or "ca_certificates"
    std::string id;
    YAML::Node node;
    std::string path;
  };
  std::vector<PendingTlsRef> pending_tls_refs_;
  std::set<std::string> service_names_, route_names_, upstream_names_, sni_names_;
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
