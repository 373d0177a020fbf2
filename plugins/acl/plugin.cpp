// The acl plugin (Kong's, priority 950): lets a consumer through by its acl groups.
// Runs after the auth plugins; `allow` or `deny` (exactly one) lists groups.
//
//   no consumer identified: 401 "Unauthorized" (add an auth plugin before acl);
//   blocked: 403 "You cannot consume this service" (401 for an anonymous consumer
//   without groups under `allow`, as in Kong);
//   allowed: the upstream gets X-Consumer-Groups: "g1, g2" unless hide_groups_header
//   (client copies are always removed).
// Decisions are computed per consumer when the snapshot is built: a request does one
// hash lookup.
#include <unordered_map>

#include "plugin/auth.hpp"

namespace portico::plugin {
namespace {

struct AclConfig : ParsedConfig {
  std::vector<std::string> allow, deny;
  bool hide_groups_header = false;
  // Groups come only from acls here (no ldap / oauth2 authenticated groups yet).
  bool always_use_authenticated_groups = false;
  bool include_consumer_groups = false;
};

const ConfigSchema& config_schema() {
  using C = AclConfig;
  static const ConfigSchemaOf<C> schema(
      schema::Record<C>()
          .field("allow", &C::allow)
          .field("deny", &C::deny)
          .field("hide_groups_header", &C::hide_groups_header)
          .field("always_use_authenticated_groups", &C::always_use_authenticated_groups)
          .field("include_consumer_groups", &C::include_consumer_groups)
          .check([](const C& c, schema::Errors& errors) {
            if (c.allow.empty() == c.deny.empty()) {
              errors.push_back({"", c.allow.empty() ? "set one of 'allow' or 'deny'" : "set either 'allow' or 'deny', not both"});
            }
            if (c.include_consumer_groups) {
              errors.push_back({"include_consumer_groups", "consumer groups are not supported yet by Portico"});
            }
          }));
  return schema;
}

class Acl final : public Instance {
 public:
  Acl(const AclConfig& config, BuildContext& build) {
    const config::DeclarativeConfig& all = build.config;
    bool deny = !config.deny.empty();
    const auto& listed = deny ? config.deny : config.allow;
    for (const auto& consumer : all.consumers) {
      Decision d;
      bool in_group = false;
      std::string joined;
      for (const auto& acl : consumer.acls) {
        in_group |= std::find(listed.begin(), listed.end(), acl.group) != listed.end();
        joined += (joined.empty() ? "" : ", ") + acl.group;
      }
      d.blocked = deny ? in_group : !in_group;
      d.no_groups = consumer.acls.empty();
      d.groups_header = config.hide_groups_header ? "" : joined;
      decisions_.emplace(&consumer, std::move(d));
    }
  }

  Access access(RequestContext& ctx) const override {
    // Whatever happens, the client's own copy never reaches the upstream.
    ctx.upstream_headers().remove("X-Consumer-Groups");
    const config::ConsumerConfig* consumer = ctx.consumer();
    if (consumer == nullptr) {
      ctx.reply(401, "Unauthorized");
      return Access::replied;
    }
    auto it = decisions_.find(consumer);
    if (it == decisions_.end()) {  // cannot happen: every consumer of the snapshot is listed
      ctx.reply(403, "You cannot consume this service");
      return Access::replied;
    }
    const Decision& d = it->second;
    if (d.blocked) {
      if (d.no_groups && !ctx.has_credential()) ctx.reply(401, "Unauthorized");
      else ctx.reply(403, "You cannot consume this service");
      return Access::replied;
    }
    if (!d.groups_header.empty()) ctx.upstream_headers().set("X-Consumer-Groups", d.groups_header);
    return Access::next;
  }

 private:
  struct Decision {
    bool blocked = false;
    bool no_groups = false;
    std::string groups_header;  // empty: none sent
  };
  std::unordered_map<const config::ConsumerConfig*, Decision> decisions_;
};

}  // namespace

const Schema& acl_schema() {
  static const Schema schema{
      .name = "acl",
      .priority = 950,
      .phases = kAccess,
      .scopes = kGlobal | kService | kRoute,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate_as<Acl, AclConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
