#include "store/declarative.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <spdlog/spdlog.h>

#include "config/export.hpp"

namespace portico::store {

namespace json = boost::json;

std::string ref_id(const json::object& body, std::string_view ref) {
  if (auto* v = body.if_contains(ref); v && v->is_object()) {
    if (auto* id = v->as_object().if_contains("id"); id && id->is_string()) return std::string(id->as_string());
  }
  return {};
}

Composed compose(const std::vector<Entity>& rows, const std::string& focus_id) {
  Composed out;
  std::map<std::string, json::array> lists;
  std::map<std::string, std::size_t> upstream_index;  // id -> position in lists["upstreams"]
  std::vector<const Entity*> targets;
  auto body_of = [](const Entity& row) {
    json::value parsed;
    boost::system::error_code ec;
    parsed = json::parse(row.body, ec);
    json::object o = !ec && parsed.is_object() ? config::without_nulls(parsed).as_object() : json::object{};
    o.erase("created_at");
    o.erase("updated_at");
    o["id"] = row.id;
    return o;
  };
  for (const auto& row : rows) {
    if (row.kind == "targets") {
      targets.push_back(&row);
      continue;
    }
    auto& list = lists[row.kind];
    if (row.kind == "upstreams") upstream_index[row.id] = list.size();
    if (row.id == focus_id) out.focus_path = row.kind + "[" + std::to_string(list.size()) + "]";
    list.push_back(body_of(row));
  }
  for (const Entity* row : targets) {
    json::object body = body_of(*row);
    std::string upstream = ref_id(body, "upstream");
    auto found = upstream_index.find(upstream);
    if (found == upstream_index.end()) {
      out.errors.push_back("target " + row->id + " names no stored upstream");
      continue;
    }
    body.erase("upstream");
    json::object& owner = lists["upstreams"][found->second].as_object();
    json::value& nested = owner["targets"];
    if (!nested.is_array()) nested = json::array{};
    if (row->id == focus_id) {
      out.focus_path = "upstreams[" + std::to_string(found->second) + "].targets[" + std::to_string(nested.as_array().size()) + "]";
    }
    nested.as_array().push_back(std::move(body));
  }
  json::object doc{{"_format_version", "3.0"}};
  for (const char* kind : kKinds) {
    auto it = lists.find(kind);
    if (it != lists.end()) doc[kind] = std::move(it->second);
  }
  out.text = json::serialize(doc);
  return out;
}

config::LoadResult load_rows(const std::vector<Entity>& rows, const std::string& focus_id, std::string* focus_path) {
  auto t0 = std::chrono::steady_clock::now();
  Composed composed = compose(rows, focus_id);
  spdlog::debug("store: {} rows composed in {:.1f} ms", rows.size(),
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  if (focus_path != nullptr) *focus_path = composed.focus_path;
  if (!composed.errors.empty()) {
    config::LoadResult result;
    for (auto& e : composed.errors) result.errors.push_back({"store", {}, "", std::move(e)});
    return result;
  }
  return config::load_declarative_text(composed.text, "store");
}

json::object certificate_row_body(const config::CertificateConfig& cert, const config::DeclarativeConfig& c) {
  json::object body = config::certificate_json(cert, c);
  body.erase("snis");  // stored as rows of their own
  return body;
}

std::vector<Entity> rows_from_config(const config::DeclarativeConfig& c, std::int64_t now) {
  std::vector<Entity> rows;
  auto add = [&](const char* kind, const std::string& id, const std::string& name, const json::object& body) {
    json::object clean = config::without_nulls(body).as_object();
    rows.push_back({kind, id, name, json::serialize(clean), now, now});
  };
  for (const auto& s : c.services) add("services", s.id, s.name, config::service_json(s));
  for (const auto& r : c.routes) add("routes", r.id, r.name, config::route_json(r, c));
  for (const auto& u : c.upstreams) {
    add("upstreams", u.id, u.name, config::upstream_json(u));
    for (const auto& t : u.targets) add("targets", t.id, "", config::target_json(t, u.id));
  }
  for (const auto& k : c.consumers) {
    add("consumers", k.id, k.username, config::consumer_json(k));
    for (const auto& cred : k.keyauth_credentials) add("keyauth_credentials", cred.id, cred.key, config::keyauth_json(cred, k.id));
    for (const auto& cred : k.jwt_secrets) add("jwt_secrets", cred.id, cred.key, config::jwt_secret_json(cred, k.id));
    for (const auto& cred : k.acls) add("acls", cred.id, "", config::acl_json(cred, k.id));
    for (const auto& cred : k.basicauth_credentials) {
      add("basicauth_credentials", cred.id, cred.username, config::basicauth_json(cred, k.id));
    }
  }
  for (const auto& p : c.plugins) add("plugins", p.id, "", config::plugin_json(p, c));
  for (const auto& cert : c.certificates) add("certificates", cert.id, "", certificate_row_body(cert, c));
  for (const auto& s : c.snis) add("snis", s.id, s.name, config::sni_json(s, c));
  for (const auto& ca : c.ca_certificates) add("ca_certificates", ca.id, "", config::ca_certificate_json(ca));
  return rows;
}

}  // namespace portico::store
