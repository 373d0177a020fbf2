#include "config/plugin_reader.hpp"

#include <map>
#include <tuple>

#include "config/loader.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/registry.hpp"

namespace portico::config {
namespace {

// A reference to another entity: "name-or-id" or {name: ...} / {id: ...}.
FieldHandler entity_ref(YamlReader& r, PendingPlugin::Ref& ref) {
  return [&r, &ref](const YAML::Node& v, const std::string& p) {
    ref.node.reset(v);
    if (v.IsScalar()) ref.value = v.Scalar();
    else if (v.IsMap() && (v["name"] || v["id"] || v["username"])) {
      ref.value = (v["name"] ? v["name"] : v["id"] ? v["id"] : v["username"]).as<std::string>("");
    } else {
      r.add(v, p, "expected a name or {name: ...} / {id: ...}");
    }
  };
}

// Where to point an error at `path`: a key that is not a field at the key, anything else at
// its value (or the nearest enclosing node).
SourceMark error_mark(const PendingPlugin& p, const std::string& path,
                      schema::FieldError::Subject subject = schema::FieldError::Subject::value) {
  return subject == schema::FieldError::Subject::key ? key_mark_at(p.marks, path) : mark_at(p.marks, path);
}

void read_plugin(YamlReader& r, const YAML::Node& node, const std::string& path, PendingPlugin& out) {
  PluginEntry& e = out.entry;
  e.mark = mark_of(node);
  e.path = path;
  out.node.reset(node);
  std::string config_path = path + ".config";
  FieldTable fields{
      {"name", r.string_field(e.name)},
      {"id", r.string_field(e.id)},
      {"enabled", r.bool_field(e.enabled)},
      {"config", [&](const YAML::Node& v, const std::string&) { out.config_node.reset(v); }},
      {"protocols", r.ignored()},
      {"tags", r.ignored()},
      {"instance_name", r.ignored()},
      {"created_at", r.ignored()},
      {"updated_at", r.ignored()},
  };
  if (out.top_level) {
    fields.emplace("service", entity_ref(r, out.service));
    fields.emplace("route", entity_ref(r, out.route));
    fields.emplace("consumer", entity_ref(r, out.consumer));
  }
  r.read_object(node, path, fields, {"ordering", "consumer_group"});
  if (!node.IsMap()) return;
  if (e.name.empty()) return r.add(node, path + ".name", "required field missing");
  e.schema = plugin::find_schema(e.name);
  if (e.schema == nullptr) {
    return r.add(node["name"], path + ".name", "plugin '" + e.name + "' is not supported by Portico");
  }
  if (out.config_node.IsDefined() && !out.config_node.IsNull() && !out.config_node.IsMap()) {
    return r.add(out.config_node, config_path, "expected an object");
  }
  boost::json::value config = nullptr;
  if (out.config_node.IsDefined()) config = yaml_to_json(out.config_node, config_path, out.marks);
  else out.marks[config_path] = mark_of(node);
  schema::Errors errors;
  e.config = e.schema->config->read(config, errors, schema::Input::typed, config_path);
  for (const auto& err : errors) r.add(error_mark(out, err.path, err.subject), err.path, err.message);
}

std::string scope_text(const DeclarativeConfig& c, const PluginEntry& e) {
  std::string out;
  auto add = [&out](const std::string& kind, const std::string& name) {
    out += (out.empty() ? "" : ", ") + kind + " '" + name + "'";
  };
  if (e.service != PluginEntry::kNone) add("service", c.services[e.service].name.empty() ? c.services[e.service].id : c.services[e.service].name);
  if (e.route != PluginEntry::kNone) add("route", c.routes[e.route].name.empty() ? c.routes[e.route].id : c.routes[e.route].name);
  if (e.consumer != PluginEntry::kNone) {
    const auto& k = c.consumers[e.consumer];
    add("consumer", k.username.empty() ? k.id : k.username);
  }
  return out.empty() ? "global" : out;
}

}  // namespace

void read_nested_plugins(YamlReader& r, const YAML::Node& list, const std::string& path, PluginOwner owner,
                         std::size_t index, std::vector<PendingPlugin>& out) {
  r.read_list(list, path, [&](const YAML::Node& n, const std::string& p) {
    out.emplace_back();
    auto& pending = out.back();
    read_plugin(r, n, p, pending);
    switch (owner) {
      case PluginOwner::service: pending.entry.service = index; break;
      case PluginOwner::route: pending.entry.route = index; break;
      case PluginOwner::consumer: pending.entry.consumer = index; break;
    }
  });
}

void read_top_level_plugin(YamlReader& r, const YAML::Node& node, const std::string& path,
                           std::vector<PendingPlugin>& out) {
  out.emplace_back();
  out.back().top_level = true;
  read_plugin(r, node, path, out.back());
}

void resolve_plugins(YamlReader& r, std::vector<PendingPlugin>& pending, DeclarativeConfig& cfg) {
  auto find = [&](const PendingPlugin::Ref& ref, const std::string& field, const std::string& kind, auto& list,
                  auto matches) -> std::size_t {
    if (ref.value.empty()) return PluginEntry::kNone;
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (matches(list[i], ref.value)) return i;
    }
    r.add(ref.node, field, "no " + kind + " named '" + ref.value + "'");
    return PluginEntry::kNone;
  };
  auto by_name = [](const auto& entity, const std::string& v) { return entity.name == v || entity.id == v; };
  auto by_username = [](const ConsumerConfig& c, const std::string& v) { return c.username == v || c.id == v; };

  std::map<std::tuple<std::string, std::size_t, std::size_t, std::size_t>, bool> seen;
  for (auto& p : pending) {
    PluginEntry& e = p.entry;
    if (e.schema == nullptr || !e.config) continue;  // already reported
    if (p.top_level) {
      e.service = find(p.service, e.path + ".service", "service", cfg.services, by_name);
      e.route = find(p.route, e.path + ".route", "route", cfg.routes, by_name);
      e.consumer = find(p.consumer, e.path + ".consumer", "consumer", cfg.consumers, by_username);
      bool unresolved = (!p.service.value.empty() && e.service == PluginEntry::kNone) ||
                        (!p.route.value.empty() && e.route == PluginEntry::kNone) ||
                        (!p.consumer.value.empty() && e.consumer == PluginEntry::kNone);
      if (unresolved) continue;
    }
    unsigned scopes = e.schema->scopes;
    bool global = e.service == PluginEntry::kNone && e.route == PluginEntry::kNone && e.consumer == PluginEntry::kNone;
    std::string name = "plugin '" + e.name + "'";
    if (global && !(scopes & plugin::kGlobal)) {
      r.add(p.node, e.path, name + " cannot be global: set 'service' or 'route'");
      continue;
    }
    if (e.consumer != PluginEntry::kNone && !(scopes & plugin::kConsumer)) {
      r.add(p.consumer.node ? p.consumer.node : p.node, e.path, name + " cannot be configured on a consumer");
      continue;
    }
    if (e.service != PluginEntry::kNone && !(scopes & plugin::kService)) {
      r.add(p.node, e.path, name + " cannot be configured on a service");
      continue;
    }
    if (e.route != PluginEntry::kNone && !(scopes & plugin::kRoute)) {
      r.add(p.node, e.path, name + " cannot be configured on a route");
      continue;
    }
    if (!seen.emplace(std::make_tuple(e.name, e.service, e.route, e.consumer), true).second) {
      r.add(p.node["name"] ? p.node["name"] : p.node, e.path,
            name + " is configured twice for " + scope_text(cfg, e));
      continue;
    }
    if (e.schema->check) {
      e.schema->check(*e.config, cfg, [&](SourceMark mark, const std::string& field, const std::string& message) {
        std::string path = schema::join_path(e.path + ".config", field);
        r.add(mark.line != 0 ? mark : error_mark(p, path), path, message);
      });
    }
    if (e.id.empty()) {
      e.id = derive_entity_id("plugin", e.name + "|" + scope_text(cfg, e));
    }
    cfg.plugins.push_back(std::move(e));
  }
  pending.clear();
}

}  // namespace portico::config
