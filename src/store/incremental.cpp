#include "store/incremental.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "plugin/plugin.hpp"
#include "store/declarative.hpp"

namespace portico::store {

namespace json = boost::json;

namespace {

constexpr std::size_t kNone = config::PluginEntry::kNone;

std::string ref_of(const Entity& row, std::string_view ref) {
  boost::system::error_code ec;
  json::value v = json::parse(row.body, ec);
  return !ec && v.is_object() ? ref_id(v.as_object(), ref) : std::string();
}

const Entity* row_by_id(const std::vector<Entity>& rows, const std::string& id) {
  for (const auto& r : rows) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

template <typename List>
std::size_t index_of(const List& list, const std::string& id) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (list[i].id == id) return i;
  }
  return kNone;
}

// Replaces the element with the same id, or appends; its index.
template <typename List, typename T>
std::size_t splice(List& list, T value) {
  std::size_t i = index_of(list, value.id);
  if (i == kNone) {
    list.push_back(std::move(value));
    return list.size() - 1;
  }
  list[i] = std::move(value);
  return i;
}

// A new hash for the changed configuration: the old one chained with what changed.
std::string next_hash(const std::string& previous, const std::string& change) {
  return config::md5_hex(previous + "\n" + change);
}

void add_error(Applied& a, const std::string& field, const std::string& message) {
  a.errors.push_back({"store", {}, a.focus_path + (field.empty() ? "" : "." + field), message});
}

template <typename Cred>
void splice_credential(std::vector<config::ConsumerConfig>& consumers, std::vector<Cred> config::ConsumerConfig::*list,
                       std::size_t owner, Cred cred) {
  for (auto& c : consumers) {  // it may have moved from another consumer
    auto& l = c.*list;
    l.erase(std::remove_if(l.begin(), l.end(), [&](const Cred& x) { return x.id == cred.id; }), l.end());
  }
  (consumers[owner].*list).push_back(std::move(cred));
}

}  // namespace

Applied apply_upsert(config::DeclarativeConfig& c, const std::vector<Entity>& rows, const Entity& row) {
  Applied out;
  // The small document: the entity and what it refers to.
  std::vector<Entity> subset;
  auto add_ref = [&](const Entity& from, std::string_view ref) -> const Entity* {
    std::string id = ref_of(from, ref);
    const Entity* r = id.empty() ? nullptr : row_by_id(rows, id);
    if (r != nullptr) subset.push_back(*r);
    return r;
  };
  // A service comes with what its upstream TLS refers to: the client certificate and CAs.
  auto add_tls_refs = [&](const Entity& service) {
    add_ref(service, "client_certificate");
    boost::system::error_code ec;
    json::value body = json::parse(service.body, ec);
    const json::value* cas = !ec && body.is_object() ? body.as_object().if_contains("ca_certificates") : nullptr;
    for (std::size_t i = 0; cas != nullptr && cas->is_array() && i < cas->as_array().size(); ++i) {
      const json::value& id = cas->as_array()[i];
      if (const Entity* ca = id.is_string() ? row_by_id(rows, std::string(id.as_string())) : nullptr) subset.push_back(*ca);
    }
  };
  auto add_service = [&](const Entity& from) -> const Entity* {
    const Entity* service = add_ref(from, "service");
    if (service != nullptr) add_tls_refs(*service);
    return service;
  };
  const std::string& kind = row.kind;
  if (kind == "services") {
    add_tls_refs(row);
  } else if (kind == "routes") {
    add_service(row);
  } else if (kind == "plugins") {
    add_service(row);
    if (const Entity* route = add_ref(row, "route")) {
      if (row_by_id(subset, ref_of(*route, "service")) == nullptr) add_service(*route);
    }
    // A plugin's checks may name consumers (an auth plugin's `anonymous`): all of them.
    for (const auto& r : rows) {
      if (r.kind == "consumers") subset.push_back(r);
    }
  } else if (kind == "targets") {
    // The upstream with all its targets, in the store's order (a changed target keeps its place).
    if (const Entity* upstream = add_ref(row, "upstream")) add_ref(*upstream, "client_certificate");
    std::string upstream = ref_of(row, "upstream");
    bool placed = false;
    for (const auto& r : rows) {
      // (a body that does not contain the id cannot refer to it: no need to parse it)
      if (r.kind != "targets" || r.body.find(upstream) == std::string::npos || ref_of(r, "upstream") != upstream) continue;
      placed = placed || r.id == row.id;
      subset.push_back(r.id == row.id ? row : r);
    }
    if (!placed) subset.push_back(row);
  } else if (kind == "upstreams") {
    add_ref(row, "client_certificate");
    for (const auto& r : rows) {
      if (r.kind == "targets" && r.body.find(row.id) != std::string::npos && ref_of(r, "upstream") == row.id) {
        subset.push_back(r);
      }
    }
  } else if (kind == "keyauth_credentials" || kind == "basicauth_credentials" || kind == "jwt_secrets" ||
             kind == "acls") {
    add_ref(row, "consumer");
  } else if (kind == "snis") {
    add_ref(row, "certificate");
  }
  if (kind != "targets") subset.push_back(row);
  auto loaded = load_rows(subset, row.id, &out.focus_path);
  if (!loaded.ok()) {
    out.errors = std::move(loaded.errors);
    return out;
  }
  const config::DeclarativeConfig& mini = loaded.config;
  // The checks against the whole configuration come first: `c` changes only when they pass.

  if (kind == "services") {
    splice(c.services, mini.services.at(0));
  } else if (kind == "routes") {
    config::RouteConfig r = mini.routes.at(0);
    bool serviceless = r.service_index == config::RouteConfig::kNoService;
    if (!serviceless) r.service_index = index_of(c.services, mini.services.at(r.service_index).id);
    if (!serviceless && r.service_index == kNone) {
      add_error(out, "service", "no service named '" + mini.services.at(0).id + "'");
      return out;
    }
    splice(c.routes, std::move(r));
  } else if (kind == "consumers") {
    config::ConsumerConfig k = mini.consumers.at(0);
    for (const auto& other : c.consumers) {
      if (other.id != k.id && !k.custom_id.empty() && other.custom_id == k.custom_id) {
        add_error(out, "custom_id", "duplicate consumer custom_id '" + k.custom_id + "'");
        return out;
      }
    }
    std::size_t i = index_of(c.consumers, k.id);
    if (i != kNone) {  // the row does not carry its credentials: keep them
      k.keyauth_credentials = std::move(c.consumers[i].keyauth_credentials);
      k.basicauth_credentials = std::move(c.consumers[i].basicauth_credentials);
      k.jwt_secrets = std::move(c.consumers[i].jwt_secrets);
      k.acls = std::move(c.consumers[i].acls);
    }
    splice(c.consumers, std::move(k));
  } else if (kind == "ca_certificates") {
    splice(c.ca_certificates, mini.ca_certificates.at(0));  // services refer to it by id
  } else if (kind == "certificates") {
    splice(c.certificates, mini.certificates.at(0));  // its snis refer to it by index: unchanged
  } else if (kind == "snis") {
    config::SniConfig s = mini.snis.at(0);
    s.certificate_index = index_of(c.certificates, mini.certificates.at(s.certificate_index).id);
    if (s.certificate_index == kNone) {
      add_error(out, "certificate", "no certificate with id '" + mini.certificates.at(0).id + "'");
      return out;
    }
    for (const auto& other : c.snis) {
      if (other.id != s.id && other.name == s.name) {
        add_error(out, "name", s.name + " is duplicated");
        return out;
      }
    }
    splice(c.snis, std::move(s));
  } else if (kind == "upstreams" || kind == "targets") {
    splice(c.upstreams, mini.upstreams.at(0));
  } else if (kind == "plugins") {
    config::PluginEntry p = mini.plugins.at(0);
    auto remap = [&](std::size_t index, const auto& mini_list, const auto& list) {
      return index == kNone ? kNone : index_of(list, mini_list.at(index).id);
    };
    p.service = remap(p.service, mini.services, c.services);
    p.route = remap(p.route, mini.routes, c.routes);
    p.consumer = remap(p.consumer, mini.consumers, c.consumers);
    for (const auto& other : c.plugins) {
      if (other.id != p.id && other.name == p.name && other.service == p.service && other.route == p.route &&
          other.consumer == p.consumer) {
        add_error(out, "", "plugin '" + p.name + "' is configured twice for the same scope (plugin " + other.id + ")");
        return out;
      }
    }
    splice(c.plugins, std::move(p));
  } else {
    // A credential: into its consumer's list.
    const config::ConsumerConfig& owner_mini = mini.consumers.at(0);
    std::size_t owner = index_of(c.consumers, owner_mini.id);
    if (owner == kNone) {
      add_error(out, "consumer", "no consumer '" + owner_mini.id + "'");
      return out;
    } else if (kind == "keyauth_credentials") {
      splice_credential(c.consumers, &config::ConsumerConfig::keyauth_credentials, owner, owner_mini.keyauth_credentials.at(0));
    } else if (kind == "basicauth_credentials") {
      splice_credential(c.consumers, &config::ConsumerConfig::basicauth_credentials, owner, owner_mini.basicauth_credentials.at(0));
    } else if (kind == "jwt_secrets") {
      splice_credential(c.consumers, &config::ConsumerConfig::jwt_secrets, owner, owner_mini.jwt_secrets.at(0));
    } else {
      splice_credential(c.consumers, &config::ConsumerConfig::acls, owner, owner_mini.acls.at(0));
    }
  }
  c.hash = next_hash(c.hash, "upsert " + row.kind + " " + row.id + " " + row.body);
  return out;
}

void apply_deletes(config::DeclarativeConfig& c, const std::vector<std::pair<std::string, std::string>>& deletes) {
  auto wanted = [&](std::string_view kind, const std::string& id) {
    for (const auto& [k, i] : deletes) {
      if (k == kind && i == id) return true;
    }
    return false;
  };
  // Removes the listed entities of one kind; maps each old index to its new one (kNone: gone).
  auto remove = [&](auto& list, std::string_view kind) {
    std::vector<std::size_t> moved(list.size(), kNone);
    std::size_t kept = 0;
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (wanted(kind, list[i].id)) continue;
      moved[i] = kept;
      if (kept != i) list[kept] = std::move(list[i]);
      ++kept;
    }
    list.resize(kept);
    return moved;
  };
  auto renumber = [](std::size_t& index, const std::vector<std::size_t>& moved) {
    if (index != kNone && index < moved.size()) index = moved[index];
  };
  remove(c.plugins, "plugins");
  for (auto& k : c.consumers) {
    remove(k.keyauth_credentials, "keyauth_credentials");
    remove(k.basicauth_credentials, "basicauth_credentials");
    remove(k.jwt_secrets, "jwt_secrets");
    remove(k.acls, "acls");
  }
  for (auto& u : c.upstreams) remove(u.targets, "targets");
  auto routes = remove(c.routes, "routes");
  for (auto& p : c.plugins) renumber(p.route, routes);
  auto services = remove(c.services, "services");
  for (auto& r : c.routes) renumber(r.service_index, services);
  for (auto& p : c.plugins) renumber(p.service, services);
  auto consumers = remove(c.consumers, "consumers");
  for (auto& p : c.plugins) renumber(p.consumer, consumers);
  remove(c.upstreams, "upstreams");
  remove(c.snis, "snis");
  remove(c.ca_certificates, "ca_certificates");  // services refer to them by id
  auto certificates = remove(c.certificates, "certificates");
  for (auto& s : c.snis) renumber(s.certificate_index, certificates);
  std::string summary = "delete";
  for (const auto& [k, i] : deletes) summary += " " + k + " " + i;
  c.hash = next_hash(c.hash, summary);
}

}  // namespace portico::store
