#include "plugins/proxy-cache/instance.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <limits>

#include "core/mailbox.hpp"
#include "obs/counter_family.hpp"
#include "plugin/request_context.hpp"
#include "plugins/proxy-cache/entry_codec.hpp"
#include "router/router.hpp"

namespace portico::plugins::cache {

using plugin::Access;
using plugin::RequestContext;

namespace {

std::atomic<std::int64_t (*)()> g_clock{nullptr};

// keep_until_ms of an entry kept until evicted (storage_ttl 0).
constexpr std::int64_t kKeptForever = std::numeric_limits<std::int64_t>::max() / 2;

// The request header names a response's Vary lists, lowercased.
std::vector<std::string> vary_names(const http::MessageHead& response) {
  std::vector<std::string> names;
  for (const auto& h : response.headers) {
    if (http::iequals(h.name, "vary")) {
      http::for_each_list_item(h.value, [&](std::string_view name) { names.push_back(http::ascii_lower(name)); });
    }
  }
  return names;
}

}  // namespace

std::int64_t now_ms() {
  if (auto clock = g_clock.load(std::memory_order_relaxed)) return clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void set_clock_for_tests(std::int64_t (*clock)()) { g_clock.store(clock); }

// What a request holds from access to log (trivially destructible: it lives in the arena;
// its views point into the arena too).
struct CacheInstance::Ticket {
  std::string_view key;     // the store's key (cache_key_text); empty: the request bypassed the cache
  std::string_view key_hex; // as shown, computed when a response is fetched
  std::string_view path;    // for purges by path: set when the response is to be stored
  std::string_view status;  // "Miss" / "Refresh" for a request sent upstream
  bool debug = false;       // Kong-Debug: diagnostic headers even when turned off
  bool is_head = false;
  RequestFacts facts;       // for decide_store
  bool fetching = false;  // sent upstream; response_headers decides whether to store
  bool filler = false;    // holds the key's fill (must finish it)
  bool store = false;     // the response is being captured to be stored
  std::uint64_t generation = 0;
  int response_status = 0;
  std::int64_t received_ms = 0;  // when the response head arrived: the entry's age counts from it
  std::int64_t ttl_seconds = 0, initial_age = 0, last_modified = -1;
  bool must_revalidate = false;
  std::string_view headers, etag, vary;  // vary: "name\nvalue\n" pairs
  bool remote_lookup = false;  // strategy redis: access_async asks Redis first
  std::string_view stored_bytes;  // strategy redis: the entry found, for stale-if-error
};

CacheInstance::CacheInstance(const CacheConfig& config, const config::DeclarativeConfig& declared,
                             std::shared_ptr<SharedCache> shared)
    : config_(config), declared_(declared), shared_(std::move(shared)) {}

std::string_view CacheInstance::key_of(RequestContext& ctx) const {
  const auto& req = ctx.request();
  const auto& route = declared_.routes[ctx.route()->route_index];
  KeyRequest r;
  r.route_id = route.id.empty() ? std::string_view(route.name) : std::string_view(route.id);
  r.consumer_id = ctx.consumer() != nullptr ? std::string_view(ctx.consumer()->id) : std::string_view{};
  r.method = req.method == "HEAD" ? std::string_view("GET") : req.method;  // HEAD is answered from GET's entry
  r.scheme = ctx.scheme();
  r.host = req.host;
  r.path = ctx.path();
  r.query = req.query;
  r.headers = &req;
  return ctx.store(cache_key_text(r, config_.key_rules));
}

bool CacheInstance::usable(const CachedResponse& entry, const http::MessageHead& request) const {
  for (const auto& [name, value] : entry.vary) {
    if (request.find(name) != value) return false;
  }
  return true;
}

bool CacheInstance::fresh_for(const CachedResponse& entry, const http::CacheControl& cc, std::int64_t now) const {
  if (now >= entry.fresh_until_ms) {
    // A client may accept some staleness (max-stale), unless the response forbids it.
    if (entry.must_revalidate || cc.max_stale < 0 || now - entry.fresh_until_ms > cc.max_stale * 1000) return false;
  }
  std::int64_t age = entry.age_seconds(now);
  if (cc.max_age >= 0 && age > cc.max_age) return false;
  if (cc.min_fresh >= 0 && (entry.fresh_until_ms - now) / 1000 < cc.min_fresh) return false;
  return true;
}

void CacheInstance::add_header(RequestContext& ctx, bool enabled, std::string_view name, std::string_view value) const {
  const Ticket* t = ctx.existing_state<Ticket>(*this);
  if (enabled || (t != nullptr && t->debug)) ctx.add_response_header(name, value);
}

namespace {
// portico_proxy_cache_responses_total{route, cache_status}: what X-Cache-Status says, counted
// whether or not the header is shown.
void count_cache_status(const RequestContext& ctx, std::string_view status) {
  static obs::CounterFamily responses("portico_proxy_cache_responses_total",
                                      "Answers of routes with proxy-cache, by cache status (X-Cache-Status)",
                                      {"route", "cache_status"});
  const auto* route = ctx.route();
  responses.add({route == nullptr ? std::string_view{} : route->name.empty() ? std::string_view(route->id) : route->name,
                 status});
}
}  // namespace

void CacheInstance::bypass(RequestContext& ctx) const {
  count_cache_status(ctx, "Bypass");
  add_header(ctx, config_.response_headers.x_cache_status, "X-Cache-Status", "Bypass");
}

Access CacheInstance::answer(RequestContext& ctx, std::shared_ptr<const CachedResponse> entry, std::string_view status,
                             std::int64_t now) const {
  const auto& req = ctx.request();
  bool not_modified = false;
  if (entry->status == 200) {
    if (std::string_view inm = req.find("if-none-match"); !inm.empty()) {
      not_modified = http::etag_matches(inm, entry->etag);
    } else if (std::string_view ims = req.find("if-modified-since"); !ims.empty() && entry->last_modified >= 0) {
      auto since = http::parse_http_date(ims);
      not_modified = since && entry->last_modified <= *since;
    }
  }
  std::int64_t age = entry->age_seconds(now);
  char age_text[24];
  auto end = std::to_chars(age_text, age_text + sizeof age_text, age).ptr;
  const auto& shown = config_.response_headers;
  bool debug = ctx.state<Ticket>(*this).debug;
  // The diagnostic lines as one block (one copy into the request's arena, not one per line);
  // bounded: a 64-character key, a short status, a number.
  char lines[256];
  std::size_t size = 0;
  auto add = [&](bool wanted, std::string_view name, std::string_view value) {
    if (!wanted && !debug) return;
    for (std::string_view part : {name, std::string_view(": "), value, std::string_view("\r\n")}) {
      std::memcpy(lines + size, part.data(), part.size());
      size += part.size();
    }
  };
  add(shown.age, "Age", std::string_view(age_text, static_cast<std::size_t>(end - age_text)));
  count_cache_status(ctx, status);
  add(shown.x_cache_status, "X-Cache-Status", status);
  add(shown.x_cache_key, "X-Cache-Key", entry->key_hex);
  ctx.add_response_header_lines(std::string_view(lines, size));
  int code = not_modified ? 304 : entry->status;
  std::string_view body = not_modified ? std::string_view{} : std::string_view(entry->body);
  std::string_view headers = entry->headers;
  ctx.reply_stored(code, headers, body, std::move(entry));
  return Access::replied;
}

bool CacheInstance::may_serve_stale(const CachedResponse& entry, const http::CacheControl& cc, int window_seconds,
                                    std::int64_t now) const {
  if (entry.must_revalidate || now >= entry.fresh_until_ms + window_seconds * 1000LL) return false;
  // The client's own limits still hold (RFC 9111 5.2.1).
  std::int64_t age = entry.age_seconds(now);
  return !cc.no_cache && (cc.max_age < 0 || age <= cc.max_age) && cc.min_fresh < 0;
}

Access CacheInstance::go_upstream(RequestContext& ctx, Ticket& ticket, std::string_view status) const {
  ticket.fetching = true;
  ticket.status = status;
  if (!ticket.is_head) {
    // The fetch is for the cache, not for this client's copy: a 304 or a 206 could not be stored
    // (the cache answers conditional requests itself), as nginx's proxy_cache does.
    const auto& req = ctx.request();
    for (std::string_view name : {"if-none-match", "if-modified-since", "range", "if-range"}) {
      if (req.has(name)) ctx.upstream_headers().remove(name);
    }
  }
  return Access::next;
}

http::CacheControl CacheInstance::request_cache_control(const http::MessageHead& req) const {
  http::CacheControl cc;
  if (config_.cache_control) {
    cc = http::cache_control_of(req);
    // RFC 9111 5.4: Pragma: no-cache when there is no Cache-Control.
    if (!req.has("cache-control") && http::iequals(http::trim_ows(req.find("pragma")), "no-cache")) cc.no_cache = true;
  }
  return cc;
}

Access CacheInstance::access(RequestContext& ctx) const {
  const auto& req = ctx.request();
  Ticket& t = ctx.state<Ticket>(*this);
  t.debug = req.has("kong-debug");
  t.is_head = req.method == "HEAD";
  bool method_cacheable = std::find(config_.request_method.begin(), config_.request_method.end(), req.method) !=
                          config_.request_method.end();
  http::CacheControl cc = request_cache_control(req);
  // The key does not cover a request body (a POST's search terms): such requests are neither
  // answered from the cache nor stored (Kong keys them without the body).
  bool has_body = req.framing != http::BodyFraming::none &&
                  !(req.framing == http::BodyFraming::content_length && req.content_length == 0);
  if (!method_cacheable || cc.no_store || has_body) {
    bypass(ctx);
    return Access::next;
  }
  t.key = key_of(ctx);
  t.facts.authorized = req.has("authorization") || (ctx.has_credential() && ctx.consumer() == nullptr);
  if (shared_->redis) {
    t.remote_lookup = true;
    return Access::suspend;  // access_async asks Redis
  }
  std::int64_t now = now_ms();
  t.generation = shared_->store.generation();  // before the lookup: a purge from now on wins over this fill
  return decide(ctx, t, shared_->store.find(t.key, now), cc, now);
}

Access CacheInstance::decide(RequestContext& ctx, Ticket& t, std::shared_ptr<const CachedResponse> entry,
                             const http::CacheControl& cc, std::int64_t now) const {
  if (entry && !usable(*entry, ctx.request())) entry.reset();
  bool can_fill = !t.is_head;  // nothing to store from a HEAD answer
  if (entry && !cc.no_cache) {
    if (fresh_for(*entry, cc, now)) return answer(ctx, std::move(entry), "Hit", now);
    // Expired but within stale-while-revalidate: one request refreshes it, the others are
    // answered from it meanwhile.
    if (may_serve_stale(*entry, cc, config_.stale_while_revalidate, now)) {
      if (!can_fill || !shared_->fills.claim(t.key)) return answer(ctx, std::move(entry), "Stale", now);
      t.filler = true;
      return go_upstream(ctx, t, "Refresh");
    }
  }
  if (cc.only_if_cached) {  // nothing here may answer it (RFC 9111 5.2.1.7)
    ctx.reply(504, "The response is not in the cache (only-if-cached)");
    return Access::replied;
  }
  std::string_view status = entry || cc.no_cache ? "Refresh" : "Miss";
  if (can_fill && shared_->fills.claim(t.key)) {
    t.filler = true;
    return go_upstream(ctx, t, status);
  }
  if (cc.no_cache || config_.coalesce_timeout == 0) return go_upstream(ctx, t, status);
  t.status = status;
  return Access::suspend;  // another request is fetching this key: access_async waits for it
}

Access CacheInstance::redis_failed(RequestContext& ctx, Ticket& t, const std::string& why) const {
  report_redis_failure(*shared_->redis, "read an entry", why);
  t.key = {};  // nothing is stored, nothing answered stale
  if (config_.bypass_on_err) {
    bypass(ctx);
    return Access::next;
  }
  // Kong Enterprise's proxy-cache-advanced: 502 unless bypass_on_err (the upstream is not
  // asked to take the load the cache was taking).
  ctx.reply(502, "The cache could not be read (" + why + ")");
  return Access::replied;
}

boost::asio::awaitable<RedisCache::Lookup> CacheInstance::find_in_redis(Ticket& t) const {
  RedisCache::Lookup found = co_await shared_->redis->find(std::string(t.key));
  t.generation = found.generation;  // before the fetch: a purge from now on, on any node, wins over it
  if (found.entry && found.entry->keep_until_ms <= now_ms()) {  // as the memory store (Redis expires it soon)
    found.entry.reset();
    found.encoded.clear();
  }
  co_return found;
}

boost::asio::awaitable<Access> CacheInstance::access_async(RequestContext& ctx) const {
  Ticket& t = ctx.state<Ticket>(*this);
  if (t.remote_lookup) {
    t.remote_lookup = false;
    RedisCache::Lookup found = co_await find_in_redis(t);
    if (!found.failure.empty()) co_return redis_failed(ctx, t, found.failure);
    if (found.entry && config_.stale_if_error > 0) t.stored_bytes = ctx.store(found.encoded);
    Access decided = decide(ctx, t, std::move(found.entry), request_cache_control(ctx.request()), now_ms());
    if (decided != Access::suspend) co_return decided;
  }
  Mailbox* mailbox = Mailbox::current();  // null off the workers (benchmarks): no waiting there
  if (mailbox == nullptr) co_return go_upstream(ctx, t, t.status);
  auto waiter = std::make_shared<Waiter>(co_await boost::asio::this_coro::executor, *mailbox);
  bool queued = shared_->fills.wait(t.key, waiter);
  if (queued) {
    // Leaves the fill's queue however the wait ends (woken, timed out, or the request dropped
    // as the gateway stops).
    struct Leave {
      Fills& fills;
      std::string_view key;
      std::shared_ptr<Waiter> waiter;
      ~Leave() { fills.abandon(key, waiter); }
    } leave{shared_->fills, t.key, waiter};
    waiter->timer.expires_after(std::chrono::milliseconds(config_.coalesce_timeout));
    auto [ec] = co_await waiter->timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    (void)ec;  // woken by the filler, or timed out: look again either way
  }
  std::shared_ptr<const CachedResponse> entry;
  if (shared_->redis) {
    RedisCache::Lookup found = co_await find_in_redis(t);
    if (!found.failure.empty()) co_return redis_failed(ctx, t, found.failure);
    entry = std::move(found.entry);
  } else {
    t.generation = shared_->store.generation();
    entry = shared_->store.find(t.key, now_ms());
  }
  std::int64_t now = now_ms();
  if (entry && usable(*entry, ctx.request()) && now < entry->fresh_until_ms) co_return answer(ctx, std::move(entry), "Hit", now);
  if (!t.is_head && shared_->fills.claim(t.key)) t.filler = true;
  co_return go_upstream(ctx, t, t.status);
}

void CacheInstance::response_headers(RequestContext& ctx) const {
  Ticket* t = ctx.existing_state<Ticket>(*this);
  if (t == nullptr || !t->fetching || ctx.upstream_response() == nullptr) return;
  const http::ResponseHead& resp = *ctx.upstream_response();
  std::int64_t now = now_ms();
  StoreDecision d = decide_store(config_.store_rules, t->facts, resp, now / 1000);
  count_cache_status(ctx, d.store ? t->status : "Bypass");
  add_header(ctx, config_.response_headers.x_cache_status, "X-Cache-Status", d.store ? t->status : "Bypass");
  t->key_hex = ctx.store(key_digest(t->key));
  add_header(ctx, config_.response_headers.x_cache_key, "X-Cache-Key", t->key_hex);
  if (d.store && !t->is_head) {
    t->store = true;
    t->must_revalidate = d.must_revalidate;
    t->response_status = resp.status;
    t->received_ms = now;
    t->ttl_seconds = d.ttl_seconds;
    t->headers = ctx.store(stored_header_lines(resp));
    t->etag = ctx.store(resp.find("etag"));
    t->initial_age = upstream_age(resp);
    t->path = ctx.store(config_.ignore_uri_case ? http::ascii_lower(ctx.path()) : std::string(ctx.path()));
    auto modified = http::parse_http_date(resp.find("last-modified"));
    t->last_modified = modified ? *modified : -1;
    std::string vary;  // (the request has no body: its head is still readable)
    for (const auto& name : vary_names(resp)) vary.append(name).append("\n").append(ctx.request().find(name)).append("\n");
    t->vary = ctx.store(vary);
    std::size_t limit = shared_->max_bytes / 32;  // a store shard's share: nothing larger is kept
    if (config_.max_body_size > 0) limit = std::min(limit, static_cast<std::size_t>(config_.max_body_size));
    ctx.capture_response_body(limit);
    return;
  }
  if (t->filler) {  // nothing will be stored: the waiters go upstream now, not after the body
    shared_->fills.finish(t->key);
    t->filler = false;
  }
}

void CacheInstance::upstream_error(RequestContext& ctx, int /*status*/) const {
  if (config_.stale_if_error <= 0) return;
  Ticket* t = ctx.existing_state<Ticket>(*this);
  if (t == nullptr || t->key.empty()) return;
  std::int64_t now = now_ms();
  auto entry = shared_->redis ? decode_entry(t->stored_bytes) : shared_->store.find(t->key, now);
  http::CacheControl cc = config_.cache_control ? http::cache_control_of(ctx.request()) : http::CacheControl{};
  if (entry && usable(*entry, ctx.request()) && may_serve_stale(*entry, cc, config_.stale_if_error, now)) {
    answer(ctx, std::move(entry), "Stale", now);
  }
}

void CacheInstance::body_captured(RequestContext& ctx) const {
  Ticket* t = ctx.existing_state<Ticket>(*this);
  std::string* body = ctx.captured_body();
  if (t == nullptr || !t->store || body == nullptr) return;
  try {
    auto entry = std::make_shared<CachedResponse>();
    entry->key = t->key;
    entry->key_hex = t->key_hex;
    entry->path = t->path;
    entry->status = t->response_status;
    entry->headers = t->headers;
    entry->body = std::move(*body);
    std::int64_t now = t->received_ms;
    entry->stored_at_ms = now;
    entry->fresh_until_ms = now + t->ttl_seconds * 1000;
    // Kept for storage_ttl when set (Kong: 0 never expires; shorter than the lifetime: gone
    // sooner), else for its lifetime, and longer when it may answer stale.
    std::int64_t keep = entry->fresh_until_ms;
    if (config_.storage_ttl == 0) keep = kKeptForever;
    else if (config_.storage_ttl > 0) keep = now + config_.storage_ttl * 1000LL;
    int stale = std::max(config_.stale_while_revalidate, config_.stale_if_error);
    if (stale > 0) keep = std::max<std::int64_t>(keep, entry->fresh_until_ms + stale * 1000LL);
    entry->keep_until_ms = keep;
    entry->must_revalidate = t->must_revalidate;
    entry->initial_age = t->initial_age;
    entry->etag = t->etag;
    entry->last_modified = t->last_modified;
    std::string_view vary = t->vary;
    while (!vary.empty()) {
      auto a = vary.find('\n');
      auto b = vary.find('\n', a + 1);
      entry->vary.emplace_back(vary.substr(0, a), vary.substr(a + 1, b - a - 1));
      vary.remove_prefix(b + 1);
    }
    if (shared_->redis) {
      store_in_redis(std::move(entry), *t);  // finishes the fill when stored
    } else {
      shared_->store.put(std::move(entry), t->generation);
    }
  } catch (const std::bad_alloc&) {
    // The response goes out all the same; it is just not cached.
  }
  t->store = false;
  if (t->filler) {  // the waiters find the new entry
    shared_->fills.finish(t->key);
    t->filler = false;
  }
}

namespace {

// Stores an entry in Redis after the response went out (the client does not wait), then
// releases this node's requests waiting for it: they find it there.
boost::asio::awaitable<void> put_in_redis(std::shared_ptr<SharedCache> shared, std::shared_ptr<const CachedResponse> entry,
                                          std::uint64_t generation, std::int64_t ttl_ms, bool filler) {
  try {
    RedisCache::Count stored = co_await shared->redis->put(entry, generation, ttl_ms);
    if (!stored.failure.empty()) report_redis_failure(*shared->redis, "store an entry", stored.failure);
  } catch (const std::exception& e) {
    report_redis_failure(*shared->redis, "store an entry", e.what());
  }
  if (filler) shared->fills.finish(entry->key);
}

}  // namespace

void CacheInstance::store_in_redis(std::shared_ptr<const CachedResponse> entry, Ticket& t) const {
  bool filler = t.filler;
  t.filler = false;  // from here on the store finishes the fill
  std::int64_t ttl_ms = entry->keep_until_ms == kKeptForever ? 0 : entry->keep_until_ms - now_ms();
  Mailbox* mailbox = Mailbox::current();
  if (mailbox == nullptr || ttl_ms < 0 || (ttl_ms == 0 && entry->keep_until_ms != kKeptForever)) {
    if (filler) shared_->fills.finish(entry->key);  // off the workers, or expired already: not stored
    return;
  }
  boost::asio::co_spawn(mailbox->executor(), put_in_redis(shared_, std::move(entry), t.generation, ttl_ms, filler),
                        boost::asio::detached);
}

void CacheInstance::log(RequestContext& ctx) const noexcept {
  Ticket* t = ctx.existing_state<Ticket>(*this);
  if (t != nullptr && t->filler) shared_->fills.finish(t->key);  // nothing was stored: the waiters go upstream
}

}  // namespace portico::plugins::cache
