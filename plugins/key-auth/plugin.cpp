// The key-auth plugin (Kong's, priority 1250): the caller presents an API key, looked up
// among the consumers' keyauth_credentials.
//
//   key_names (default [apikey]) are looked for in the headers (key_in_header), then in
//   the query string (key_in_query), then in a form or JSON body (key_in_body: the body is
//   read first, through the engine's awaited access path); two copies of the key are refused ("Duplicate API
//   key found"), a missing key is 401 "No API key found in request", an unknown key 401
//   "Unauthorized", both with WWW-Authenticate: Key [realm="..."].
//   hide_credentials removes the key from what the upstream receives.
#include <boost/json.hpp>

#include "http/h1_parser.hpp"
#include "http/header_view.hpp"
#include "http/params.hpp"
#include "plugin/auth.hpp"
#include "plugin/body_access.hpp"

namespace portico::plugin {
namespace {

struct KeyAuthConfig : ParsedConfig {
  std::vector<std::string> key_names{"apikey"};
  bool hide_credentials = false;
  bool key_in_header = true;
  bool key_in_query = true;
  bool key_in_body = false;
  std::string realm;  // empty: "WWW-Authenticate: Key"
  AuthOptions auth;
};

std::string header_name_problem(const std::string& name) { return is_token(name) ? "" : "not a valid header name"; }

const ConfigSchema& config_schema() {
  using C = KeyAuthConfig;
  static const ConfigSchemaOf<C> schema([] {
    schema::Record<C> r;
    r.field("key_names", &C::key_names, {.len_min = 1, .check = header_name_problem})
        .field("hide_credentials", &C::hide_credentials)
        .field("key_in_header", &C::key_in_header)
        .field("key_in_query", &C::key_in_query)
        .field("key_in_body", &C::key_in_body)
        .field("realm", &C::realm, {.nullable = true, .check = realm_problem});
    add_auth_fields(r);
    return r;
  }());
  return schema;
}

struct KeyOwner {
  const config::ConsumerConfig* consumer;
  const config::KeyAuthCredential* credential;
};

class KeyAuth final : public Instance {
 public:
  KeyAuth(const KeyAuthConfig& config, BuildContext& build) : config_(config) {
    const config::DeclarativeConfig& all = build.config;
    anonymous_ = config.auth.anonymous.empty() ? nullptr : find_consumer(all, config.auth.anonymous);
    for (const auto& consumer : all.consumers) {
      for (const auto& credential : consumer.keyauth_credentials) keys_.emplace(credential.key, KeyOwner{&consumer, &credential});
    }
    challenge_ = "WWW-Authenticate: Key" + (config.realm.empty() ? "" : " realm=\"" + config.realm + "\"") + "\r\n";
  }

  Access access(RequestContext& ctx) const override {
    return authenticate(ctx, config_.auth, anonymous_, [&] { return check(ctx); });
  }

  // key_in_body and a request with a body: read it, then check.
  boost::asio::awaitable<Access> access_async(RequestContext& ctx) const override {
    bool read = co_await read_body_or_reply(ctx);  // (GCC 12: await into a variable, not in the if)
    if (!read) co_return Access::replied;
    Verdict verdict = check(ctx);
    co_return finish_authentication(ctx, anonymous_, verdict);
  }

 private:
  Verdict fail(RequestContext& ctx, std::string_view message) const {
    ctx.reply(401, message, challenge_);
    return Verdict::failed;
  }

  Verdict check(RequestContext& ctx) const {
    const http::RequestHead& req = ctx.request();
    bool has_body = req.framing != http::BodyFraming::none;
    if (config_.key_in_body && has_body && !ctx.request_body_read()) return Verdict::wait;
    BodyKeys body = config_.key_in_body && has_body ? body_keys(req) : BodyKeys::none;
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
      bool in_body = false;
      if (found == 0 && body != BodyKeys::none) {
        found = find_in_body(ctx, body, name, key);
        in_body = found > 0;
      }
      if (found > 1) return fail(ctx, "Duplicate API key found");
      if (found == 1) {
        if (config_.hide_credentials) hide(ctx, name, in_body ? body : BodyKeys::none);
        break;
      }
    }
    if (key.empty()) return fail(ctx, "No API key found in request");
    auto it = keys_.find(key);
    if (it == keys_.end()) return fail(ctx, "Unauthorized");
    ctx.authenticate(*it->second.consumer, it->second.credential->id);
    return Verdict::passed;
  }

  // Bodies a key is looked for in (Kong also reads multipart forms; Portico does not).
  enum class BodyKeys { none, form, json };
  static BodyKeys body_keys(const http::RequestHead& req) {
    std::string_view type = req.find("content-type");
    auto starts = [&](std::string_view prefix) {
      return type.size() >= prefix.size() && http::iequals(type.substr(0, prefix.size()), prefix);
    };
    if (starts("application/x-www-form-urlencoded")) return BodyKeys::form;
    if (starts("application/json")) return BodyKeys::json;
    return BodyKeys::none;
  }

  // Occurrences of `name` in the body; the (last) value into `key`.
  static int find_in_body(RequestContext& ctx, BodyKeys kind, std::string_view name, std::string_view& key) {
    const std::string& body = ctx.request_body();
    int found = 0;
    if (kind == BodyKeys::form) {
      std::string decoded_key, decoded_value;
      http::for_each_query_arg(body, [&](std::string_view k, std::string_view v) {
        if (!http::percent_decode(k, decoded_key) || decoded_key != name) return;
        ++found;
        key = http::percent_decode(v, decoded_value) ? ctx.store(decoded_value) : std::string_view{};
      });
      return found;
    }
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(body, ec);
    if (ec || !doc.is_object()) return 0;  // not JSON: as Kong, no key from the body
    const boost::json::value* v = doc.as_object().if_contains(name);
    if (v == nullptr) return 0;
    if (!v->is_string()) return 2;  // an array or object of keys: refused as a duplicate
    key = ctx.store(v->as_string());
    return 1;
  }

  void hide(RequestContext& ctx, std::string_view name, BodyKeys body) const {
    ctx.upstream_headers().remove(name);
    std::string_view query = ctx.query_replaced() ? ctx.upstream_query() : ctx.request().query;
    if (!query.empty()) ctx.set_upstream_query(http::query_without(query, name));
    if (body == BodyKeys::form) {
      ctx.request_body() = http::query_without(ctx.request_body(), name);
    } else if (body == BodyKeys::json) {
      boost::json::value doc = boost::json::parse(ctx.request_body());
      doc.as_object().erase(name);
      ctx.request_body() = boost::json::serialize(doc);
    }
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
      .config = &config_schema(),
      .check = check_auth_config<KeyAuthConfig>,
      .instantiate = instantiate_as<KeyAuth, KeyAuthConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
