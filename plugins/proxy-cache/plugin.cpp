// The proxy-cache plugin (Kong's, priority 100): the schema, the configured instance and its
// phases. The store is cache_store.hpp, the key cache_key.hpp, coalescing fills.hpp, the
// rules for what may be stored cacheability.hpp, the Admin API's purges admin.cpp. See
// README.md for the fields, what Portico adds to Kong's plugin, and the safety rules.
#include <algorithm>

#include "http/caching.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/redis_fields.hpp"
#include "plugins/proxy-cache/instance.hpp"
#include "proxy/shared_state.hpp"

namespace portico::plugin {
namespace {

namespace cache = plugins::cache;
using cache::CacheConfig;
using cache::CachedResponse;

const ConfigSchema& config_schema() {
  using C = CacheConfig;
  using M = CacheConfig::Memory;
  using H = CacheConfig::Headers;
  static const schema::Record<M> memory = schema::Record<M>()
                                              .field("dictionary_name", &M::dictionary_name, {.len_min = 1})
                                              .field("max_bytes", &M::max_bytes, {.min = 65536, .max = 2147483647});
  static const schema::Record<H> headers = schema::Record<H>()
                                               .field("age", &H::age)
                                               .field("X-Cache-Status", &H::x_cache_status)
                                               .field("X-Cache-Key", &H::x_cache_key);
  static const ConfigSchemaOf<C> schema([] {
    schema::Record<C> r;
    // Kong's required fields with a default (response_code...) are filled when absent.
    r.field("response_code", &C::response_code, {.min = 100, .max = 900, .len_min = 1})
        .field("request_method", &C::request_method, {.one_of = {"HEAD", "GET", "POST", "PATCH", "PUT"}})
        .field("content_type", &C::content_type)
        .field("cache_ttl", &C::cache_ttl)
        .field("strategy", &C::strategy, {.one_of = {"memory", "redis"}, .required = true})
        .field("cache_control", &C::cache_control)
        .field("ignore_uri_case", &C::ignore_uri_case)
        .field("storage_ttl", &C::storage_ttl, {.min = 0, .nullable = true})
        .record<M>("memory", [](C& c) -> M& { return c.memory; }, memory)
        .field("vary_query_params", &C::vary_query_params)
        .field("vary_headers", &C::vary_headers)
        .record<H>("response_headers", [](C& c) -> H& { return c.response_headers; }, headers)
        // Portico's (README.md).
        .field("stale_while_revalidate", &C::stale_while_revalidate, {.min = 0, .max = 31536000})
        .field("stale_if_error", &C::stale_if_error, {.min = 0, .max = 31536000})
        .field("max_body_size", &C::max_body_size, {.min = 0, .max = 2147483647})
        .field("coalesce_timeout", &C::coalesce_timeout, {.min = 0, .max = 600000})
        // strategy redis: Kong Enterprise's proxy-cache-advanced fields.
        .record<RedisFields>("redis", [](C& c) -> RedisFields& { return c.redis; }, redis_record())
        .field("bypass_on_err", &C::bypass_on_err);
    r.finish([](C& c, const boost::json::object&, schema::Errors& errors) {
      if (c.cache_ttl <= 0) errors.push_back({"cache_ttl", "value must be greater than 0"});  // Kong's `gt = 0`
      if (c.strategy == "redis" && c.redis.host.empty()) {
        errors.push_back({"redis.host", "required field missing (strategy 'redis' keeps the entries in that Redis server)"});
      }
      if (c.strategy == "redis") refuse_unsupported_redis(c.redis, "redis", errors);
      c.key_rules.ignore_uri_case = c.ignore_uri_case;
      c.key_rules.vary_query_params = c.vary_query_params;
      for (const auto& name : c.vary_headers) {
        std::string lower = http::ascii_lower(name);
        std::replace(lower.begin(), lower.end(), '_', '-');  // Kong reads '_' as '-' (OpenResty's header table)
        c.key_rules.vary_headers.push_back(std::move(lower));
      }
      c.store_rules.response_code = c.response_code;
      c.store_rules.cache_control = c.cache_control;
      c.store_rules.cache_ttl = c.cache_ttl;
      c.store_rules.max_body_size = c.max_body_size;
      // Kong keeps entries it cannot parse; they match nothing.
      for (const auto& type : c.content_type) {
        if (auto parsed = http::parse_media_type(type)) c.store_rules.content_types.push_back(std::move(*parsed));
      }
    });
    return r;
  }());
  return schema;
}

std::shared_ptr<const Instance> instantiate(const ParsedConfig& parsed, BuildContext& ctx) {
  const auto& c = static_cast<const CacheConfig&>(parsed);
  if (c.strategy == "redis") {  // one per Redis server and session in the process
    net::RedisSettings settings = c.redis.settings();
    auto shared = ctx.shared.plugin_state<cache::SharedCache>(
        "proxy-cache|redis|" + settings.key() + "|" + std::to_string(c.memory.max_bytes), [&] {
          return std::make_shared<cache::SharedCache>("redis", static_cast<std::size_t>(c.memory.max_bytes), settings);
        });
    return std::make_shared<cache::CacheInstance>(c, ctx.config, std::move(shared));
  }
  // One store per dictionary (and size) in the process, kept across reloads while used.
  auto shared = ctx.shared.plugin_state<cache::SharedCache>(
      "proxy-cache|" + c.memory.dictionary_name + "|" + std::to_string(c.memory.max_bytes), [&] {
        return std::make_shared<cache::SharedCache>(c.memory.dictionary_name, static_cast<std::size_t>(c.memory.max_bytes));
      });
  return std::make_shared<cache::CacheInstance>(c, ctx.config, std::move(shared));
}

}  // namespace

const Schema& proxy_cache_schema() {
  static const Schema schema{
      .name = "proxy-cache",
      .priority = 100,
      .phases = kAccess | kResponseHeaders | kUpstreamError | kBodyCaptured | kLog,
      .scopes = kGlobal | kService | kRoute | kConsumer,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate,
      .admin_endpoints = cache::admin_endpoints(),
  };
  return schema;
}

}  // namespace portico::plugin
