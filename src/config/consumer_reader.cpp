#include "config/consumer_reader.hpp"

#include <map>
#include <memory>

#include "config/entity_records.hpp"
#include "config/loader.hpp"

namespace portico::config {
namespace {

const char* const kCredentialKinds[] = {"keyauth_credentials", "basicauth_credentials", "jwt_secrets", "acls"};

}  // namespace

void ConsumerReader::read_credential(const std::string& kind, const YAML::Node& node, const std::string& path,
                                     Pending& into, bool top_level) {
  into.kind = kind;
  into.path = path;
  if (!node.IsMap()) return r_.add(node, path, "expected a mapping");
  YAML::Node consumer = node["consumer"];
  if (consumer && !top_level) {
    r_.add(consumer, path + ".consumer", "unknown field");
  } else if (consumer) {
    into.consumer_node.reset(consumer);
    if (consumer.IsScalar()) into.consumer_ref = consumer.Scalar();
    else if (consumer.IsMap() && (consumer["username"] || consumer["id"])) {
      into.consumer_ref = (consumer["id"] ? consumer["id"] : consumer["username"]).as<std::string>("");
    } else {
      r_.add(consumer, path + ".consumer", "expected a consumer username or id, or {id: ...} / {username: ...}");
    }
  } else if (top_level) {
    r_.add(node, path + ".consumer", "required field missing");
  }
  SourceMark mark = mark_of(node);
  auto finish = [&](auto& credential, const char* id_kind, const std::string& id_key) {
    if (credential.id.empty()) credential.id = derive_entity_id(id_kind, id_key);
    credential.mark = mark;
  };
  if (kind == "keyauth_credentials") {
    r_.read_with_record(keyauth_record(), node, path, into.keyauth, {"consumer"});
    finish(into.keyauth, "keyauth_credential", into.keyauth.key);
  } else if (kind == "basicauth_credentials") {
    r_.read_with_record(basicauth_record(), node, path, into.basicauth, {"consumer"});
    finish(into.basicauth, "basicauth_credential", into.basicauth.username);
  } else if (kind == "jwt_secrets") {
    r_.read_with_record(jwt_secret_record(), node, path, into.jwt, {"consumer"});
    finish(into.jwt, "jwt_secret", into.jwt.key);
  } else {
    r_.read_with_record(acl_record(), node, path, into.acl, {"consumer"});
    finish(into.acl, "acl", path + "|" + into.acl.group);
  }
}

void ConsumerReader::attach(ConsumerConfig& c, Pending& p) {
  if (p.kind == "keyauth_credentials") c.keyauth_credentials.push_back(std::move(p.keyauth));
  else if (p.kind == "basicauth_credentials") c.basicauth_credentials.push_back(std::move(p.basicauth));
  else if (p.kind == "jwt_secrets") c.jwt_secrets.push_back(std::move(p.jwt));
  else c.acls.push_back(std::move(p.acl));
}

void ConsumerReader::read_consumer(const YAML::Node& node, const std::string& path, std::vector<ConsumerConfig>& out) {
  if (!node.IsMap()) return r_.add(node, path, "expected a mapping");
  ConsumerConfig c;
  c.mark = mark_of(node);
  r_.read_with_record(consumer_record(), node, path, c,
                      {"plugins", "keyauth_credentials", "basicauth_credentials", "jwt_secrets", "acls"});
  if (node["plugins"]) plugins_(node["plugins"], path + ".plugins", out.size());
  std::vector<Pending> nested;
  for (const char* kind : kCredentialKinds) {
    if (!node[kind]) continue;
    r_.read_list(node[kind], path + "." + kind, [&](const YAML::Node& n, const std::string& np) {
      nested.emplace_back();
      read_credential(kind, n, np, nested.back(), false);
    });
  }
  if (c.id.empty()) c.id = derive_entity_id("consumer", c.username.empty() ? "custom:" + c.custom_id : c.username);
  for (auto& p : nested) attach(c, p);
  out.push_back(std::move(c));
}

void ConsumerReader::read_top_level_credential(const std::string& kind, const YAML::Node& node, const std::string& path) {
  r_.read_list(node, path, [&](const YAML::Node& n, const std::string& p) {
    pending_.emplace_back();
    read_credential(kind, n, p, pending_.back(), true);
  });
}

void ConsumerReader::resolve(std::vector<ConsumerConfig>& consumers) {
  for (auto& p : pending_) {
    ConsumerConfig* owner = nullptr;
    for (auto& c : consumers) {
      if (c.id == p.consumer_ref || (!c.username.empty() && c.username == p.consumer_ref)) owner = &c;
    }
    if (owner == nullptr) {
      if (!p.consumer_ref.empty()) r_.add(p.consumer_node, p.path + ".consumer", "no consumer '" + p.consumer_ref + "'");
      continue;
    }
    attach(*owner, p);
  }
  pending_.clear();
  // Uniqueness, reported at the second occurrence.
  std::map<std::string, bool> usernames, custom_ids, keys, basic_users, jwt_keys;
  auto once = [&](std::map<std::string, bool>& seen, const std::string& value, SourceMark mark, const std::string& what) {
    if (value.empty()) return;
    if (!seen.emplace(value, true).second) r_.add(mark, "consumers", "duplicate " + what + " '" + value + "'");
  };
  for (const auto& c : consumers) {
    once(usernames, c.username, c.mark, "consumer username");
    once(custom_ids, c.custom_id, c.mark, "consumer custom_id");
    for (const auto& k : c.keyauth_credentials) once(keys, k.key, k.mark, "key-auth key");
    for (const auto& b : c.basicauth_credentials) once(basic_users, b.username, b.mark, "basic-auth username");
    for (const auto& j : c.jwt_secrets) once(jwt_keys, j.key, j.mark, "jwt key");
  }
}

}  // namespace portico::config
