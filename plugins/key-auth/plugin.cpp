// The key-auth plugin (Kong's, priority 1250): the caller presents an API key, looked up
// among the consumers' keyauth_credentials.
//
//   key_names (default [apikey]) are looked for in the headers (key_in_header), then in
//   the query string (key_in_query); two copies of the key are refused ("Duplicate API
//   key found"), a missing key is 401 "No API key found in request", an unknown key 401
//   "Unauthorized", both with WWW-Authenticate: Key [realm="..."].
//   hide_credentials removes the key from what the upstream receives.
#include "config/yaml_reader.hpp"
#include "http/h1_parser.hpp"
#include "http/header_view.hpp"
#include "http/params.hpp"
#include "plugin/auth.hpp"

namespace portico::plugin {
namespace {

struct KeyAuthConfig : ParsedConfig {
  std::vector<std::string> key_names{"apikey"};
  bool hide_credentials = false;
  bool key_in_header = true;
  bool key_in_query = true;
  std::string realm;  // empty: "WWW-Authenticate: Key"
  AuthOptions auth;
};

std::shared_ptr<const ParsedConfig> parse(config::YamlReader& r, const YAML::Node& node, const std::string& path) {
  auto c = std::make_shared<KeyAuthConfig>();
  if (!node.IsDefined() || node.IsNull()) return c;
  bool key_in_body = false;
  config::FieldTable fields{
      {"key_names", r.string_list_field(c->key_names)},
      {"hide_credentials", r.bool_field(c->hide_credentials)},
      {"key_in_header", r.bool_field(c->key_in_header)},
      {"key_in_query", r.bool_field(c->key_in_query)},
      {"key_in_body", r.bool_field(key_in_body)},
      {"realm", [&](const YAML::Node& v, const std::string& p) {
         if (!v.IsNull()) r.string_field(c->realm)(v, p);
       }},
  };
  add_auth_fields(r, fields, c->auth);
  r.read_object(node, path, fields);
  if (key_in_body) {
    r.add(node["key_in_body"], path + ".key_in_body", "keys in the request body are not supported yet by Portico");
  }
  if (c->key_names.empty()) r.add(node["key_names"], path + ".key_names", "length must be at least 1");
  for (std::size_t i = 0; i < c->key_names.size(); ++i) {
    if (!is_token(c->key_names[i])) {
      r.add(config::element_or(node["key_names"], i), path + ".key_names[" + std::to_string(i) + "]",
            "not a valid header name");
    }
  }
  return c;
}

struct KeyOwner {
  const config::ConsumerConfig* consumer;
  const config::KeyAuthCredential* credential;
};

class KeyAuth final : public Instance {
 public:
  KeyAuth(const KeyAuthConfig& config, const config::DeclarativeConfig& all) : config_(config) {
    anonymous_ = config.auth.anonymous.empty() ? nullptr : find_consumer(all, config.auth.anonymous);
    for (const auto& consumer : all.consumers) {
      for (const auto& credential : consumer.keyauth_credentials) keys_.emplace(credential.key, KeyOwner{&consumer, &credential});
    }
    challenge_ = "WWW-Authenticate: Key" + (config.realm.empty() ? "" : " realm=\"" + config.realm + "\"") + "\r\n";
  }

  Access access(RequestContext& ctx) const override {
    return authenticate(ctx, config_.auth, anonymous_, [&] { return check(ctx); });
  }

 private:
  bool fail(RequestContext& ctx, std::string_view message) const {
    ctx.reply(401, message, challenge_);
    return false;
  }

  bool check(RequestContext& ctx) const {
    const http::RequestHead& req = ctx.request();
    std::string_view key;
    std::string decoded;
    for (const auto& name : config_.key_names) {
      int found = 0;
      if (config_.key_in_header) {
        for (const auto& h : req.headers) {
          if (http::iequals(h.name, name)) {
            key = h.value;
            ++found;
          }
        }
      }
      if (found == 0 && config_.key_in_query && !req.query.empty()) {
        http::for_each_query_arg(req.query, [&](std::string_view k, std::string_view v) {
          if (k != name) return;
          ++found;
          key = http::percent_decode(v, decoded) ? ctx.store(decoded) : std::string_view{};
        });
      }
      if (found > 1) return fail(ctx, "Duplicate API key found");
      if (found == 1) {
        if (config_.hide_credentials) hide(ctx, name);
        break;
      }
    }
    if (key.empty()) return fail(ctx, "No API key found in request");
    auto it = keys_.find(key);
    if (it == keys_.end()) return fail(ctx, "Unauthorized");
    ctx.authenticate(*it->second.consumer, it->second.credential->id);
    return true;
  }

  void hide(RequestContext& ctx, std::string_view name) const {
    ctx.upstream_headers().remove(name);
    std::string_view query = ctx.query_replaced() ? ctx.upstream_query() : ctx.request().query;
    if (!query.empty()) ctx.set_upstream_query(http::query_without(query, name));
  }

  const KeyAuthConfig& config_;  // owned by the snapshot's configuration
  const config::ConsumerConfig* anonymous_ = nullptr;
  StringMap<KeyOwner> keys_;
  std::string challenge_;
};

}  // namespace

const Schema& key_auth_schema() {
  static const Schema schema{
      .name = "key-auth",
      .priority = 1250,
      .phases = kAccess,
      .scopes = kGlobal | kService | kRoute,  // auth plugins identify the consumer: not per consumer
      .parse = parse,
      .check = [](const ParsedConfig& c, const config::DeclarativeConfig& all,
                  const CheckError& error) { check_auth_options(static_cast<const KeyAuthConfig&>(c).auth, all, error); },
      .instantiate = [](const ParsedConfig& c, BuildContext& ctx) -> std::shared_ptr<const Instance> {
        return std::make_shared<KeyAuth>(static_cast<const KeyAuthConfig&>(c), ctx.config);
      },
  };
  return schema;
}

}  // namespace portico::plugin
