// Reads Kong's consumers and their credentials: `consumers[]` with nested
// `keyauth_credentials`, `basicauth_credentials`, `jwt_secrets` and `acls`, and the same
// credential lists at the top level naming their `consumer`. The entities' fields are read by
// their records (config/entity_records.hpp: passwords hashed, never kept in plain text; JWT
// public keys parsed to reject a bad PEM at load time); this reader places them.
#pragma once

#include <functional>
#include <vector>

#include "config/yaml_reader.hpp"

namespace portico::config {

class ConsumerReader {
 public:
  // Reads a consumer's nested `plugins:` list, for the consumer that will be at `index`.
  using PluginsReader = std::function<void(const YAML::Node& list, const std::string& path, std::size_t index)>;
  ConsumerReader(YamlReader& reader, PluginsReader plugins) : r_(reader), plugins_(std::move(plugins)) {}

  void read_consumer(const YAML::Node& node, const std::string& path, std::vector<ConsumerConfig>& out);
  // kind: keyauth_credentials, basicauth_credentials, jwt_secrets or acls.
  void read_top_level_credential(const std::string& kind, const YAML::Node& node, const std::string& path);
  // Attaches top-level credentials to their consumers and checks uniqueness (usernames,
  // custom ids, keys). Call once everything is read.
  void resolve(std::vector<ConsumerConfig>& consumers);

 private:
  struct Pending {
    std::string kind;
    std::string consumer_ref;
    YAML::Node consumer_node;
    std::string path;
    KeyAuthCredential keyauth;
    BasicAuthCredential basicauth;
    JwtSecret jwt;
    AclGroup acl;
  };
  // Reads one credential of `kind` into `into`; `consumer_ref` is set when the entry names
  // its consumer (top level), and must be null for nested entries.
  void read_credential(const std::string& kind, const YAML::Node& node, const std::string& path, Pending& into,
                       bool top_level);
  static void attach(ConsumerConfig& consumer, Pending& credential);  // moves it into its list

  YamlReader& r_;
  PluginsReader plugins_;
  std::vector<Pending> pending_;
};

}  // namespace portico::config
