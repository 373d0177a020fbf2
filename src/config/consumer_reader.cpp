#include "config/consumer_reader.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <map>
#include <memory>

#include "config/loader.hpp"

namespace portico::config {
namespace {

const char* const kJwtAlgorithms[] = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256",
                                      "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"};

bool is_hmac(const std::string& alg) { return alg.rfind("HS", 0) == 0; }

const char* const kCredentialKinds[] = {"keyauth_credentials", "basicauth_credentials", "jwt_secrets", "acls"};

}  // namespace

void ConsumerReader::check_jwt_key(const YAML::Node& node, const std::string& path, const JwtSecret& s) {
  if (is_hmac(s.algorithm)) {
    if (s.secret.empty()) r_.add(node, path + ".secret", "required for algorithm " + s.algorithm);
    return;
  }
  if (s.rsa_public_key.empty()) {
    return r_.add(node, path + ".rsa_public_key", "required for algorithm " + s.algorithm + " (a PEM public key)");
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(s.rsa_public_key.data(),
                                                                static_cast<int>(s.rsa_public_key.size())),
                                                BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
                                                          EVP_PKEY_free);
  const YAML::Node where = node["rsa_public_key"] ? node["rsa_public_key"] : node;
  if (!key) return r_.add(where, path + ".rsa_public_key", "not a PEM public key");
  int type = EVP_PKEY_get_base_id(key.get());
  bool fits = (s.algorithm[0] == 'R' || s.algorithm[0] == 'P') ? type == EVP_PKEY_RSA
              : s.algorithm[0] == 'E' && s.algorithm != "EdDSA" ? type == EVP_PKEY_EC
                                                                 : (type == EVP_PKEY_ED25519 || type == EVP_PKEY_ED448);
  if (!fits) r_.add(where, path + ".rsa_public_key", "the key's type does not match algorithm " + s.algorithm);
}

void ConsumerReader::read_credential(const std::string& kind, const YAML::Node& node, const std::string& path,
                                     Pending& into, bool top_level) {
  into.kind = kind;
  into.path = path;
  std::vector<std::string> tags;
  std::string id;
  FieldTable fields{
      {"id", r_.string_field(id)},
      {"tags", r_.string_list_field(tags)},
      {"created_at", r_.ignored()},
  };
  if (top_level) {
    fields.emplace("consumer", [&](const YAML::Node& v, const std::string& p) {
      into.consumer_node.reset(v);
      if (v.IsScalar()) into.consumer_ref = v.Scalar();
      else if (v.IsMap() && (v["username"] || v["id"])) into.consumer_ref = (v["id"] ? v["id"] : v["username"]).as<std::string>("");
      else r_.add(v, p, "expected a consumer username or id, or {id: ...} / {username: ...}");
    });
  }
  std::string password;
  bool has_password = false, has_hash = false;
  if (kind == "keyauth_credentials") {
    fields.emplace("key", r_.string_field(into.keyauth.key));
    fields.emplace("ttl", r_.ignored());
  } else if (kind == "basicauth_credentials") {
    fields.emplace("username", r_.string_field(into.basicauth.username));
    fields.emplace("password", [&](const YAML::Node& v, const std::string& p) {
      has_password = true;
      r_.string_field(password)(v, p);
    });
    // The stored form (what the store and `portico config db_export` keep): never a plain password.
    fields.emplace("password_hash", [&](const YAML::Node& v, const std::string& p) {
      std::string text;
      r_.string_field(text)(v, p);
      has_hash = true;
      if (!crypto::decode_password_hash(text, into.basicauth.password)) {
        r_.add(v, p, "not a Portico password hash (pbkdf2-sha256$ITERATIONS$SALT$KEY, as db_export writes it)");
      }
    });
  } else if (kind == "jwt_secrets") {
    fields.emplace("key", r_.string_field(into.jwt.key));
    fields.emplace("algorithm", [&](const YAML::Node& v, const std::string& p) {
      if (!v.IsScalar()) return r_.add(v, p, "expected a string");
      for (const char* a : kJwtAlgorithms) {
        if (v.Scalar() == a) {
          into.jwt.algorithm = a;
          return;
        }
      }
      r_.add(v, p, "expected one of: HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA");
    });
    fields.emplace("secret", r_.string_field(into.jwt.secret));
    fields.emplace("rsa_public_key", r_.string_field(into.jwt.rsa_public_key));
  } else {
    fields.emplace("group", r_.string_field(into.acl.group));
  }
  r_.read_object(node, path, fields);
  if (!node.IsMap()) return;
  SourceMark mark = mark_of(node);
  if (top_level && into.consumer_ref.empty()) r_.add(node, path + ".consumer", "required field missing");
  if (kind == "keyauth_credentials") {
    if (into.keyauth.key.empty()) r_.add(node, path + ".key", "required field missing (Portico needs explicit keys)");
    into.keyauth.id = id.empty() ? derive_entity_id("keyauth_credential", into.keyauth.key) : id;
    into.keyauth.tags = tags;
    into.keyauth.mark = mark;
  } else if (kind == "basicauth_credentials") {
    if (into.basicauth.username.empty()) r_.add(node, path + ".username", "required field missing");
    if (has_password && has_hash) {
      r_.add(node, path + ".password", "set 'password' or 'password_hash', not both");
    } else if (has_hash) {
      // decoded above
    } else if (!has_password || password.empty()) {
      r_.add(node, path + ".password", "required field missing");
    } else {
      into.basicauth.password = crypto::hash_password_for_config(into.basicauth.username, password);
    }
    into.basicauth.id = id.empty() ? derive_entity_id("basicauth_credential", into.basicauth.username) : id;
    into.basicauth.tags = tags;
    into.basicauth.mark = mark;
  } else if (kind == "jwt_secrets") {
    if (into.jwt.key.empty()) r_.add(node, path + ".key", "required field missing (Portico needs explicit keys)");
    check_jwt_key(node, path, into.jwt);
    into.jwt.id = id.empty() ? derive_entity_id("jwt_secret", into.jwt.key) : id;
    into.jwt.tags = tags;
    into.jwt.mark = mark;
  } else {
    if (into.acl.group.empty()) r_.add(node, path + ".group", "required field missing");
    into.acl.id = id.empty() ? derive_entity_id("acl", path + "|" + into.acl.group) : id;
    into.acl.tags = tags;
    into.acl.mark = mark;
  }
}

void ConsumerReader::attach(ConsumerConfig& c, Pending& p) {
  if (p.kind == "keyauth_credentials") c.keyauth_credentials.push_back(std::move(p.keyauth));
  else if (p.kind == "basicauth_credentials") c.basicauth_credentials.push_back(std::move(p.basicauth));
  else if (p.kind == "jwt_secrets") c.jwt_secrets.push_back(std::move(p.jwt));
  else c.acls.push_back(std::move(p.acl));
}

void ConsumerReader::read_consumer(const YAML::Node& node, const std::string& path, std::vector<ConsumerConfig>& out) {
  ConsumerConfig c;
  c.mark = mark_of(node);
  std::vector<Pending> nested;
  FieldTable fields{
      {"id", r_.string_field(c.id)},
      {"username", r_.string_field(c.username)},
      {"custom_id", r_.string_field(c.custom_id)},
      {"tags", r_.string_list_field(c.tags)},
      {"created_at", r_.ignored()},
      {"updated_at", r_.ignored()},
      {"plugins", [&](const YAML::Node& v, const std::string& p) { plugins_(v, p, out.size()); }},
  };
  for (const char* kind : kCredentialKinds) {
    fields.emplace(kind, [this, kind, &nested](const YAML::Node& v, const std::string& p) {
      r_.read_list(v, p, [&](const YAML::Node& n, const std::string& np) {
        nested.emplace_back();
        read_credential(kind, n, np, nested.back(), false);
      });
    });
  }
  r_.read_object(node, path, fields);
  if (!node.IsMap()) return;
  if (c.username.empty() && c.custom_id.empty()) r_.add(node, path, "set at least one of 'username' or 'custom_id'");
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
