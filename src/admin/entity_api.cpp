#include "admin/entity_api.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <spdlog/spdlog.h>
#include <unordered_map>

#include "admin/body_readers.hpp"
#include "admin/kong_errors.hpp"
#include "config/entity_records.hpp"
#include "config/export.hpp"
#include "config/validators.hpp"
#include "core/uuid.hpp"
#include "crypto/base64.hpp"
#include "http/params.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/registry.hpp"
#include "store/declarative.hpp"
#include "store/incremental.hpp"

namespace portico::admin {

namespace asio = boost::asio;
namespace json = boost::json;
using store::ref_id;

// One collection: its path segment, its store kind (Kong's table name), the field that
// names an entity in paths besides its id, and the references it holds to other entities.
struct EntityApi::Kind {
  std::string_view path;
  std::string_view kind;
  std::string_view name_field;  // "" when entities are addressed by id only
  std::vector<std::string_view> refs;  // "service", "route", "consumer", "upstream"
  std::vector<std::string_view> arrays;  // fields a form may give as one value
};

namespace {

using Kind = EntityApi::Kind;

const std::vector<Kind>& kinds() {
  static const std::vector<Kind> all = {
      {"services", "services", "name", {"client_certificate"}, {"tags", "retry_on_statuses", "ca_certificates"}},
      {"routes", "routes", "name", {"service"}, {"tags", "protocols", "methods", "hosts", "paths", "snis", "sources", "destinations"}},
      {"plugins", "plugins", "", {"service", "route", "consumer"}, {"tags", "protocols"}},
      {"consumers", "consumers", "username", {}, {"tags"}},
      {"upstreams", "upstreams", "name", {"client_certificate"}, {"tags"}},
      {"targets", "targets", "", {"upstream"}, {"tags"}},
      {"key-auths", "keyauth_credentials", "key", {"consumer"}, {"tags"}},
      {"jwts", "jwt_secrets", "key", {"consumer"}, {"tags"}},
      {"acls", "acls", "", {"consumer"}, {"tags"}},
      {"basic-auths", "basicauth_credentials", "username", {"consumer"}, {"tags"}},
      {"certificates", "certificates", "", {}, {"tags", "snis"}},
      {"snis", "snis", "name", {"certificate"}, {"tags"}},
      {"ca_certificates", "ca_certificates", "", {}, {"tags"}},
  };
  return all;
}

const Kind* kind_by_path(std::string_view path) {
  for (const auto& k : kinds()) {
    if (k.path == path && k.path != "targets") return &k;  // targets exist only under their upstream
  }
  return nullptr;
}
const Kind& kind_named(std::string_view kind) {
  for (const auto& k : kinds()) {
    if (k.kind == kind) return k;
  }
  return kinds().front();
}

// Nested collections: /{parent}/{id}/{sub} lists the child kind whose `ref` is that parent.
struct Nested {
  std::string_view parent, sub, child, ref;
};
constexpr Nested kNested[] = {
    {"services", "routes", "routes", "service"},      {"services", "plugins", "plugins", "service"},
    {"routes", "plugins", "plugins", "route"},        {"consumers", "plugins", "plugins", "consumer"},
    {"upstreams", "targets", "targets", "upstream"},  {"consumers", "key-auth", "key-auths", "consumer"},
    {"consumers", "jwt", "jwts", "consumer"},         {"consumers", "acls", "acls", "consumer"},
    {"consumers", "basic-auth", "basic-auths", "consumer"}, {"certificates", "snis", "snis", "certificate"},
};

std::string_view ref_kind(std::string_view ref) {
  if (ref == "service") return "services";
  if (ref == "route") return "routes";
  if (ref == "consumer") return "consumers";
  if (ref == "certificate" || ref == "client_certificate") return "certificates";
  return "upstreams";
}

Reply json_reply(int status, const json::value& v) { return {status, json::serialize(v)}; }
Reply message(int status, std::string_view text) { return json_reply(status, json::object{{"message", text}}); }
Reply not_found() { return message(404, "Not found"); }
Reply kong_error(int status, int code, std::string_view name, std::string_view text, json::value fields = nullptr) {
  json::object o{{"code", code}, {"name", name}, {"message", text}};
  if (!fields.is_null()) o["fields"] = std::move(fields);
  return json_reply(status, o);
}
Reply violation(schema::Errors errors) { return json_reply(400, schema_violation(errors)); }

Reply store_failure(const Error& error) {
  if (error.kind == ErrorKind::conflict) return kong_error(409, 5, "unique constraint violation", error.message);
  if (error.kind == ErrorKind::unavailable && !error.retryable) {
    return message(503, "the database did not confirm the change: it may or may not have been made (read the entity "
                        "back before trying again): " + error.message);
  }
  if (error.kind == ErrorKind::unavailable) {
    return message(503, "the database is unavailable, the change was not made (this node keeps serving the "
                        "configuration it has; retry when the database is back): " + error.message);
  }
  if (error.kind == ErrorKind::outdated) {
    return message(409, "other nodes kept changing the configuration while this change was validated; retry: " +
                            error.message);
  }
  return message(500, "the change could not be stored: " + error.message);
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return !ec && v.is_object() ? v.as_object() : json::object{};
}

std::vector<std::string> string_list(const json::value* v) {
  std::vector<std::string> out;
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& e : v->as_array()) {
    if (e.is_string()) out.emplace_back(e.as_string());
  }
  return out;
}

// `?tags=a,b` (every tag) or `?tags=a/b` (any of them), as Kong's.
bool matches_tags(const json::object& body, const std::string& filter) {
  if (filter.empty()) return true;
  auto tags = string_list(body.if_contains("tags"));
  bool any = filter.find('/') != std::string::npos;
  std::size_t start = 0;
  bool all_found = true;
  while (start <= filter.size()) {
    std::size_t end = filter.find(any ? '/' : ',', start);
    std::string tag = filter.substr(start, end == std::string::npos ? std::string::npos : end - start);
    bool found = std::find(tags.begin(), tags.end(), tag) != tags.end();
    if (any && found) return true;
    if (!found) all_found = false;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return !any && all_found;
}

// Objects are merged key by key (a plugin's config is patched field by field, as in Kong);
// anything else replaces.
void merge_into(json::object& base, const json::object& patch) {
  for (const auto& [key, value] : patch) {
    auto* existing = base.if_contains(key);
    if (existing != nullptr && existing->is_object() && value.is_object()) {
      merge_into(existing->as_object(), value.as_object());
    } else {
      base[key] = value;
    }
  }
}

std::string decode_segment(std::string_view raw) {
  std::string out;
  if (!http::percent_decode(raw, out, false)) return std::string(raw);
  return out;
}

}  // namespace

namespace {

// /a/b/c/d as its decoded segments.
std::vector<std::string> path_segments(std::string_view path) {
  std::vector<std::string> seg;
  std::string_view rest = path;
  while (!rest.empty()) {
    if (rest.front() == '/') {
      rest.remove_prefix(1);
      continue;
    }
    std::size_t slash = rest.find('/');
    seg.push_back(decode_segment(rest.substr(0, slash)));
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  }
  return seg;
}

// Whether `path` may be an entity path (its first segment names a collection).
bool is_entity_path(std::string_view path) {
  auto seg = path_segments(path);
  return !seg.empty() && seg.size() <= 4 && kind_by_path(seg[0]) != nullptr;
}

// Marks a commit pending for as long as it lives (until end()), even if the wait throws.
class PendingCommit {
 public:
  explicit PendingCommit(bool& flag) : flag_(flag) { flag_ = true; }
  ~PendingCommit() { flag_ = false; }
  PendingCommit(const PendingCommit&) = delete;
  PendingCommit& operator=(const PendingCommit&) = delete;
  void end() { flag_ = false; }

 private:
  bool& flag_;
};

}  // namespace

// What a path names: a collection (possibly under a parent entity) or one entity in it.
struct EntityApi::Target {
  const Kind* kind = nullptr;
  const store::Entity* parent = nullptr;  // /services/{s}/routes: the service
  std::string_view parent_ref;            // "service"
  std::string key;                        // the id or name in the path; empty for the collection
};

EntityApi::EntityApi(store::Store& store, store::Contents contents, config::DeclarativeConfig initial,
                     Activate activate, Defer defer)
    : store_(&store),
      activate_(std::move(activate)),
      rows_(std::move(contents.entities)),
      defer_(std::move(defer)),
      published_(std::make_shared<const config::DeclarativeConfig>(std::move(initial))),
      model_current_(false),  // the working copy is taken from published_ by the first write
      have_config_(true),
      revision_(contents.revision) {}

EntityApi::EntityApi(Current current) : current_(std::move(current)) {}

void EntityApi::refresh_dbless() {
  auto c = current_ ? current_() : nullptr;
  if (c == nullptr || (have_config_ && c->hash == dbless_hash_)) return;
  static const std::int64_t started = now_seconds();
  rows_ = store::rows_from_config(*c, started);
  published_ = c;  // read only: DB-less writes are refused
  model_current_ = false;
  have_config_ = true;
  dbless_hash_ = c->hash;
}

const store::Entity* EntityApi::find(const Kind& kind, std::string_view id_or_name) const {
  for (const auto& row : rows_) {
    if (row.kind == kind.kind && (row.id == id_or_name || (!kind.name_field.empty() && !row.name.empty() && row.name == id_or_name))) {
      return &row;
    }
  }
  // Kong: a certificate is also found by one of its SNI names (/certificates/example.com).
  if (kind.kind == "certificates") {
    for (const auto& row : rows_) {
      if (row.kind != "snis" || row.name != id_or_name) continue;
      std::string certificate = ref_id(parse_object(row.body), "certificate");
      for (const auto& cert : rows_) {
        if (cert.kind == "certificates" && cert.id == certificate) return &cert;
      }
    }
  }
  return nullptr;
}

namespace {

// The entity `id` of store kind `kind` as Kong answers it, from the loaded model (every
// default filled in); empty when the model has no such entity.
json::object entity_json(const config::DeclarativeConfig& c, std::string_view kind, const std::string& id) {
  json::object out;
  auto each_consumer_credential = [&](auto member, auto writer) {
    for (const auto& k : c.consumers) {
      for (const auto& cred : k.*member) {
        if (cred.id == id) out = writer(cred, k.id);
      }
    }
  };
  auto first = [&](const auto& list, auto writer) {
    for (const auto& e : list) {
      if (e.id == id) {
        out = writer(e);
        return;
      }
    }
  };
  if (kind == "services") {
    first(c.services, [](const auto& s) { return config::service_json(s); });
  } else if (kind == "routes") {
    first(c.routes, [&c](const auto& r) { return config::route_json(r, c); });
  } else if (kind == "plugins") {
    first(c.plugins, [&c](const auto& p) { return config::plugin_json(p, c); });
  } else if (kind == "consumers") {
    first(c.consumers, [](const auto& k) { return config::consumer_json(k); });
  } else if (kind == "upstreams") {
    first(c.upstreams, [](const auto& u) { return config::upstream_json(u); });
  } else if (kind == "targets") {
    for (const auto& u : c.upstreams) {
      for (const auto& t : u.targets) {
        if (t.id == id) out = config::target_json(t, u.id);
      }
    }
  } else if (kind == "certificates") {
    first(c.certificates, [&c](const auto& cert) { return config::certificate_json(cert, c); });
  } else if (kind == "snis") {
    first(c.snis, [&c](const auto& sni) { return config::sni_json(sni, c); });
  } else if (kind == "ca_certificates") {
    first(c.ca_certificates, [](const auto& ca) { return config::ca_certificate_json(ca); });
  } else if (kind == "keyauth_credentials") {
    each_consumer_credential(&config::ConsumerConfig::keyauth_credentials, config::keyauth_json);
  } else if (kind == "jwt_secrets") {
    each_consumer_credential(&config::ConsumerConfig::jwt_secrets, config::jwt_secret_json);
  } else if (kind == "acls") {
    each_consumer_credential(&config::ConsumerConfig::acls, config::acl_json);
  } else if (kind == "basicauth_credentials") {
    each_consumer_credential(&config::ConsumerConfig::basicauth_credentials, config::basicauth_json);
  }
  return out;
}

}  // namespace

json::object EntityApi::answer(const store::Entity& row) const {
  json::object out = entity_json(model_view(), row.kind, row.id);
  if (out.empty()) out = parse_object(row.body);  // not in the model (cannot happen for a loaded row)
  out["id"] = row.id;
  out["created_at"] = row.created_at;
  out["updated_at"] = row.updated_at;
  return out;
}

asio::awaitable<std::optional<Reply>> EntityApi::handle(const Request& request) {
  bool read = request.method == "GET" || request.method == "HEAD";
  if (store_ == nullptr) {
    auto outcome = prepare(request);  // DB-less: reads, and refusals of writes
    if (!outcome) co_return std::nullopt;
    co_return std::get<Reply>(std::move(*outcome));
  }
  // What another node wrote just before (through a load balancer, a script's previous call
  // may have gone to another node) is seen by this call, as Kong's nodes read the database:
  // the store's revision first, caught up when it moved. With the database away, reads
  // answer from memory without waiting for it.
  if (read) {
    if (!is_entity_path(request.path)) co_return std::nullopt;
    if (store_->reachable()) {
      auto current = co_await store_->revision();
      if (current.ok() && *current != revision_) co_await catch_up(*current);
    }
    auto outcome = prepare(request);
    if (!outcome) co_return std::nullopt;
    co_return std::get<Reply>(std::move(*outcome));
  }
  if (!is_entity_path(request.path)) co_return std::nullopt;
  // One writer at a time: on this node (turns_), and across the nodes sharing the store (its
  // write lock, held from before the entities are brought up to date until the commit), so a
  // write is validated against exactly what it commits onto. Kong's nodes write the database
  // directly; here the whole configuration is validated, so it must be the current one.
  auto turn = co_await turns_.take();
  auto began = co_await store_->begin_write();
  if (!began.ok()) co_return store_failure(began.error());
  if (*began != revision_) {
    auto fresh = co_await store_->read_all();
    if (!fresh.ok()) {
      auto ended = co_await store_->end_write(false);
      (void)ended;
      co_return store_failure(fresh.error());
    }
    take(std::move(*fresh));
  }
  auto outcome = prepare(request);
  if (!outcome || std::holds_alternative<Reply>(*outcome)) {
    auto ended = co_await store_->end_write(false);  // nothing to commit
    (void)ended;
    if (!outcome) co_return std::nullopt;
    co_return std::get<Reply>(std::move(*outcome));
  }
  Commit& commit = std::get<Commit>(*outcome);
  PendingCommit pending(commit_pending_);
  auto stored = co_await store_->apply(commit.change, revision_);
  Result<bool> ended = true;
  if (stored.ok()) {
    ended = co_await store_->end_write(true);
  } else {
    auto rolled_back = co_await store_->end_write(false);
    (void)rolled_back;
  }
  pending.end();
  if (!stored.ok() || !ended.ok()) {
    if (commit.model_changed) discard_model();
    co_return store_failure(stored.ok() ? ended.error() : stored.error());
  }
  revision_ = *stored;
  co_return commit.done(*stored);
}

std::optional<EntityApi::Outcome> EntityApi::prepare(const Request& request) {
  std::vector<std::string> seg = path_segments(request.path);
  if (seg.empty() || seg.size() > 4 || kind_by_path(seg[0]) == nullptr) return std::nullopt;
  if (!store_) refresh_dbless();
  Target t;
  if (seg.size() <= 2) {
    t.kind = kind_by_path(seg[0]);
    if (t.kind == nullptr) return std::nullopt;
    if (seg.size() == 2) t.key = seg[1];
  } else {
    const Kind* parent_kind = kind_by_path(seg[0]);
    if (parent_kind == nullptr) return std::nullopt;
    const Nested* nested = nullptr;
    for (const auto& n : kNested) {
      if (n.parent == seg[0] && n.sub == seg[2]) nested = &n;
    }
    if (nested == nullptr) return std::nullopt;  // e.g. /upstreams/{u}/health: not an entity path
    t.parent = find(*parent_kind, seg[1]);
    if (t.parent == nullptr) return not_found();
    for (const auto& k : kinds()) {
      if (k.path == nested->child) t.kind = &k;
    }
    t.parent_ref = nested->ref;
    if (seg.size() == 4) t.key = seg[3];
  }
  std::string_view method = request.method;
  bool read = method == "GET" || method == "HEAD";
  if (!read && store_ == nullptr) {
    const char* op = method == "POST" ? "create" : method == "PUT" ? "upsert" : method == "PATCH" ? "update" : "delete";
    if (method != "POST" && method != "PUT" && method != "PATCH" && method != "DELETE") return message(405, "Method not allowed");
    return kong_error(405, 12, "operation unsupported",
                      std::string("cannot ") + op + " '" + std::string(t.kind->kind) + "' entities when not using a database");
  }
  if (t.key.empty()) {
    if (read) return list(t, request.path, request.query);
    if (method == "POST") return create(t, request);
    return message(405, "Method not allowed");
  }
  if (read) return get(t);
  if (method == "PUT") return upsert(t, request);
  if (method == "PATCH") return patch(t, request);
  if (method == "DELETE") return remove(t);
  return message(405, "Method not allowed");
}

Reply EntityApi::list(const Target& t, std::string_view path, std::string_view query) {
  std::string size_text, offset_text, tags;
  http::percent_decode(http::query_value(query, "size"), size_text);
  http::percent_decode(http::query_value(query, "offset"), offset_text);
  http::percent_decode(http::query_value(query, "tags"), tags);
  long long size = 100;
  if (!size_text.empty()) {
    char* end = nullptr;
    size = std::strtoll(size_text.c_str(), &end, 10);
    if (end != size_text.c_str() + size_text.size() || size < 1 || size > 1000) {
      return kong_error(400, 9, "invalid size", "size must be an integer between 1 and 1000");
    }
  }
  // The offset names the last entity shown ("created_at:id", opaque): the page goes on after
  // it, or, if it was deleted meanwhile, after the entities created no later than it.
  std::int64_t after_created = -1;
  std::string after_id;
  if (!offset_text.empty()) {
    std::string decoded;
    std::size_t colon = std::string::npos;
    if (crypto::base64url_decode(offset_text, decoded)) colon = decoded.find(':');
    if (colon == std::string::npos) {
      return kong_error(400, 7, "invalid offset", "'" + offset_text + "' is not a valid offset: bad base64 encoding");
    }
    after_created = std::strtoll(decoded.substr(0, colon).c_str(), nullptr, 10);
    after_id = decoded.substr(colon + 1);
  }
  std::size_t start = 0;
  if (after_created >= 0) {
    auto last = std::find_if(rows_.begin(), rows_.end(), [&](const store::Entity& r) { return r.id == after_id; });
    if (last != rows_.end()) {
      start = static_cast<std::size_t>(last - rows_.begin()) + 1;
    } else {
      while (start < rows_.size() && (rows_[start].kind != t.kind->kind || rows_[start].created_at <= after_created)) {
        if (rows_[start].kind > t.kind->kind) break;
        ++start;
      }
    }
  }
  std::vector<const store::Entity*> page;
  bool more = false;
  for (std::size_t i = start; i < rows_.size(); ++i) {
    const auto& row = rows_[i];
    if (row.kind != t.kind->kind) continue;
    if (t.parent != nullptr || !tags.empty()) {  // filters that need the body
      json::object body = parse_object(row.body);
      if (t.parent != nullptr && ref_id(body, t.parent_ref) != t.parent->id) continue;
      if (!matches_tags(body, tags)) continue;
    }
    if (page.size() == static_cast<std::size_t>(size)) {
      more = true;
      break;
    }
    page.push_back(&row);
  }
  json::array data;
  for (const auto* row : page) data.push_back(answer(*row));
  json::object out{{"data", std::move(data)}, {"next", nullptr}};
  if (more) {
    std::string token = crypto::base64url_encode(std::to_string(page.back()->created_at) + ":" + page.back()->id);
    std::string next = std::string(path) + "?offset=" + token;  // the same listing, from the offset on
    if (!size_text.empty()) next += "&size=" + size_text;
    if (!tags.empty()) next += "&tags=" + std::string(http::query_value(query, "tags"));
    out["next"] = next;
    out["offset"] = token;
  }
  return json_reply(200, out);
}

Reply EntityApi::get(const Target& t) {
  const store::Entity* row = find(*t.kind, t.key);
  if (row == nullptr) return not_found();
  if (t.parent != nullptr && ref_id(parse_object(row->body), t.parent_ref) != t.parent->id) return not_found();
  return json_reply(200, answer(*row));
}

namespace {

// A request body as an entity: JSON object, form fields Kong-converted (one value where a
// list is expected becomes a list).
Result<json::object> entity_body(const Request& r, const Kind& kind, schema::Input& input, int& status) {
  RequestBody body = read_request_body(r.content_type, r.body);
  status = body.status;
  input = body.input;
  if (!body.value.ok()) return body.value.error();
  json::object o = body.value->as_object();
  if (input == schema::Input::text) {
    for (auto field : kind.arrays) {
      if (auto* v = o.if_contains(field); v && v->is_string()) *v = json::array{*v};
    }
  }
  return o;
}

}  // namespace

namespace {

// The loader's errors as Kong's fields: those about the written entity (under `focus_path`)
// by field, any other under @entity with their path.
schema::Errors entity_errors(const std::vector<config::ConfigError>& loader_errors, const std::string& focus_path) {
  schema::Errors errors;
  for (const auto& e : loader_errors) {
    std::string_view path = e.path;
    if (!focus_path.empty() && path.starts_with(focus_path) &&
        (path.size() == focus_path.size() || path[focus_path.size()] == '.')) {
      path.remove_prefix(std::min(path.size(), focus_path.size() + 1));
      errors.push_back({std::string(path), e.message,
                        path.empty() ? schema::FieldError::Subject::record : schema::FieldError::Subject::value});
    } else {
      errors.push_back({"", (e.path.empty() ? "" : e.path + ": ") + e.message, schema::FieldError::Subject::record});
    }
  }
  return errors;
}

// `body` read by `record` (refs set aside) and written back typed, with every default.
template <typename C>
json::object through_record(const schema::Record<C>& record, const json::object& body, schema::Input input,
                            std::initializer_list<const char*> refs, schema::Errors& errors) {
  json::object fields = body;
  for (const char* r : refs) fields.erase(r);
  C entity{};
  if (!record.read(fields, entity, errors, input)) return body;
  json::object out = record.write(entity);
  for (const char* r : refs) {
    if (const auto* v = body.if_contains(r)) out[r] = *v;
  }
  return out;
}


}  // namespace

EntityApi::Outcome EntityApi::create(const Target& t, const Request& r) {
  schema::Input input;
  int status = 400;
  auto body = entity_body(r, *t.kind, input, status);
  if (!body.ok()) return message(status, body.error().message);
  std::string id;
  if (auto* v = body->if_contains("id")) {
    if (!v->is_string() || !is_uuid(v->as_string())) return violation({{"id", "expected a valid UUID"}});
    id = std::string(v->as_string());
    for (const auto& row : rows_) {
      if (row.id == id) {
        return kong_error(409, 3, "primary key violation", "primary key violation on key '{id=\"" + id + "\"}'",
                          json::object{{"id", id}});
      }
    }
  } else {
    id = random_uuid();
  }
  return write(t, std::move(*body), input, id, now_seconds(), 201);
}

EntityApi::Outcome EntityApi::upsert(const Target& t, const Request& r) {
  schema::Input input;
  int status = 400;
  auto body = entity_body(r, *t.kind, input, status);
  if (!body.ok()) return message(status, body.error().message);
  const store::Entity* existing = find(*t.kind, t.key);
  std::string id;
  std::int64_t created = now_seconds();
  if (existing != nullptr) {
    id = existing->id;
    created = existing->created_at;
  } else if (is_uuid(t.key)) {
    id = t.key;
  } else if (!t.kind->name_field.empty()) {
    id = random_uuid();
    (*body)[t.kind->name_field] = t.key;  // PUT /services/{name}: the name is the path's
  } else {
    return not_found();
  }
  if (existing != nullptr && !is_uuid(t.key) && !t.kind->name_field.empty()) (*body)[t.kind->name_field] = t.key;
  return write(t, std::move(*body), input, id, created, 200);
}

EntityApi::Outcome EntityApi::patch(const Target& t, const Request& r) {
  const store::Entity* existing = find(*t.kind, t.key);
  if (existing == nullptr) return not_found();
  if (t.parent != nullptr && ref_id(parse_object(existing->body), t.parent_ref) != t.parent->id) return not_found();
  schema::Input input;
  int status = 400;
  auto patch_body = entity_body(r, *t.kind, input, status);
  if (!patch_body.ok()) return message(status, patch_body.error().message);
  json::object body = parse_object(existing->body);
  if (t.kind->kind == "basicauth_credentials" && patch_body->contains("password")) {
    body.erase("password_hash");  // a new password replaces the stored hash
  }
  if (t.kind->kind == "services" && patch_body->contains("url")) {
    // A url replaces what it is made of (Kong's shorthand).
    for (const char* f : {"protocol", "host", "port", "path"}) body.erase(f);
  }
  merge_into(body, *patch_body);
  return write(t, std::move(body), input, existing->id, existing->created_at, 200);
}

EntityApi::Outcome EntityApi::write(const Target& t, json::object body, schema::Input input, std::string id,
                                   std::int64_t created_at, int status) {
  const Kind& kind = *t.kind;
  body.erase("created_at");
  body.erase("updated_at");
  body["id"] = id;
  // Entities declared as records are read with them (Kong's form conventions: "8080" is an
  // integer), and go on typed; their references are the Admin API's (below).
  schema::Errors record_errors;
  if (kind.kind == "services") {
    body = through_record(config::service_record(), body, input, {"client_certificate"}, record_errors);
  } else if (kind.kind == "routes") {
    body = through_record(config::route_record(), body, input, {"service"}, record_errors);
  } else if (kind.kind == "upstreams") {
    body = through_record(config::upstream_record(), body, input, {"client_certificate"}, record_errors);
  } else if (kind.kind == "targets") {
    body = through_record(config::target_record(), body, input, {"upstream"}, record_errors);
  } else if (kind.kind == "snis") {
    body = through_record(config::sni_record(), body, input, {"certificate"}, record_errors);
  } else if (kind.kind == "ca_certificates") {
    body = through_record(config::ca_certificate_record(), body, input, {}, record_errors);
  }
  // A certificate's `snis` (Kong's shorthand) become SNI entities written with it.
  std::optional<std::vector<std::string>> sni_names;
  if (kind.kind == "certificates") {
    if (auto* v = body.if_contains("snis"); v && !v->is_null()) sni_names = string_list(v);
    body = through_record(config::certificate_record(), body, input, {}, record_errors);
    if (record_errors.empty() && sni_names) {
      auto problem = sni_list_problem(*sni_names, id);
      if (!problem.empty()) return violation({{"snis", problem}});
    }
  }
  if (!record_errors.empty()) return violation(record_errors);
  if (t.parent != nullptr) body[t.parent_ref] = json::object{{"id", t.parent->id}};
  // References by name become references by id; a reference to nothing is Kong's foreign key error.
  for (auto ref : kind.refs) {
    auto* v = body.if_contains(ref);
    if (v == nullptr || v->is_null()) continue;
    if (!v->is_object()) return violation({{std::string(ref), "expected a record"}});
    const Kind& target = kind_named(ref_kind(ref));
    std::string key;
    for (const char* field : {"id", "name", "username"}) {
      if (auto* k = v->as_object().if_contains(field); k && k->is_string()) key = std::string(k->as_string());
    }
    const store::Entity* referenced = key.empty() ? nullptr : find(target, key);
    if (referenced == nullptr) {
      return kong_error(400, 4, "foreign key violation",
                        "the foreign key '" + json::serialize(*v) + "' does not reference an existing '" +
                            std::string(target.kind) + "' entity.",
                        json::object{{ref, *v}});
    }
    *v = json::object{{"id", referenced->id}};
  }
  // A plugin's config is typed (and completed) by the plugin's own schema before it is stored.
  if (kind.kind == "plugins") {
    std::string name = body.contains("name") && body.at("name").is_string() ? std::string(body.at("name").as_string()) : "";
    if (const plugin::Schema* schema = plugin::find_schema(name); schema != nullptr && schema->config != nullptr) {
      schema::Errors errors;
      json::value config = body.contains("config") ? body.at("config") : json::value(nullptr);
      auto parsed = schema->config->read(config, errors, schema::Input::text, "config");
      if (!parsed) return violation(errors);
      body["config"] = schema->config->write(*parsed);
    }
  }
  // Names are unique per kind (Kong's 409).
  std::string name;
  if (!kind.name_field.empty()) {
    if (auto* v = body.if_contains(kind.name_field); v && v->is_string()) name = std::string(v->as_string());
    for (const auto& row : rows_) {
      if (row.kind == kind.kind && row.id != id && !name.empty() && row.name == name) {
        return kong_error(409, 5, "unique constraint violation",
                          "UNIQUE violation detected on '{" + std::string(kind.name_field) + "=\"" + name + "\"}'",
                          json::object{{kind.name_field, name}});
      }
    }
  }
  std::int64_t now = now_seconds();
  store::Entity row{std::string(kind.kind), id, name, json::serialize(config::without_nulls(body)), created_at, now};
  auto t0 = std::chrono::steady_clock::now();
  // The model changes in place once the entity is valid (no copy of a large configuration);
  // if the store then refuses the change, the model is loaded again from the rows.
  store::Applied applied = store::apply_upsert(model(), rows_, row);
  auto t1 = std::chrono::steady_clock::now();
  if (!applied.ok()) return violation(entity_errors(applied.errors, applied.focus_path));
  // What is stored is the entity as loaded (a service's url expanded into protocol, host,
  // port and path; a plugin's config complete), as Kong stores it: later PATCHes apply to it.
  json::object full = entity_json(config_, row.kind, row.id);  // model() is current here
  if (row.kind == "certificates") full.erase("snis");          // rows of their own
  if (!full.empty()) row.body = json::serialize(config::without_nulls(full));
  store::Change change;
  change.upserts.push_back(row);
  if (sni_names) {
    store::Applied snis = replace_snis(row.id, *sni_names, now, change);
    if (!snis.ok()) {
      discard_model();
      return violation(entity_errors(snis.errors, snis.focus_path));
    }
  }
  auto done = [this, &kind, id, status, change, t0, t1](std::int64_t) -> Reply {
    auto t2 = std::chrono::steady_clock::now();
    for (const auto& upserted : change.upserts) remember(upserted);
    forget(change.deletes);
    go_live("admin api: " + std::string(kind.kind));
    auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
    spdlog::debug("admin api: {} {}: validated in {:.1f} ms, stored in {:.1f} ms, live in {:.1f} ms", kind.kind, id,
                  ms(t0, t1), ms(t1, t2), ms(t2, std::chrono::steady_clock::now()));
    for (const auto& r : rows_) {
      if (r.id == id) return json_reply(status, answer(r));
    }
    return {204, ""};
  };
  return Commit{std::move(change), true, std::move(done)};
}

std::string EntityApi::sni_list_problem(const std::vector<std::string>& names, const std::string& certificate_id) const {
  std::set<std::string> seen;
  for (const auto& name : names) {
    std::string lower = config::to_lower(name);
    if (!seen.insert(lower).second) return name + " is duplicated";
    const store::Entity* existing = find(kind_named("snis"), lower);
    if (existing == nullptr) continue;
    std::string owner = ref_id(parse_object(existing->body), "certificate");
    if (owner != certificate_id) return lower + " already associated with existing certificate '" + owner + "'";
  }
  return "";
}

store::Applied EntityApi::replace_snis(const std::string& certificate_id, const std::vector<std::string>& names,
                                       std::int64_t now, store::Change& change) {
  std::set<std::string> wanted;
  for (const auto& name : names) wanted.insert(config::to_lower(name));
  std::set<std::string> kept;
  for (const auto& row : rows_) {
    if (row.kind != "snis" || ref_id(parse_object(row.body), "certificate") != certificate_id) continue;
    if (wanted.count(row.name) != 0) {
      kept.insert(row.name);
    } else {
      change.deletes.emplace_back("snis", row.id);
    }
  }
  store::apply_deletes(model(), change.deletes);
  std::vector<store::Entity> rows = rows_;  // what apply_upsert checks references against
  for (const auto& c : change.upserts) {
    if (std::none_of(rows.begin(), rows.end(), [&](const store::Entity& r) { return r.id == c.id; })) rows.push_back(c);
  }
  for (const auto& name : wanted) {
    if (kept.count(name) != 0) continue;
    json::object body{{"name", name}, {"certificate", json::object{{"id", certificate_id}}}};
    store::Entity sni{"snis", random_uuid(), name, json::serialize(body), now, now};
    store::Applied applied = store::apply_upsert(model(), rows, sni);
    if (!applied.ok()) return applied;
    rows.push_back(sni);
    change.upserts.push_back(std::move(sni));
  }
  return {};
}

EntityApi::Outcome EntityApi::remove(const Target& t) {
  const store::Entity* existing = find(*t.kind, t.key);
  if (existing == nullptr) return Reply{204, ""};  // Kong: deleting what is not there succeeds
  if (t.parent != nullptr && ref_id(parse_object(existing->body), t.parent_ref) != t.parent->id) return not_found();
  std::string id = existing->id;
  const Kind& kind = *t.kind;
  // Kong's foreign keys: routes keep their service (400); plugins, credentials and targets
  // go with what they belong to (cascade).
  std::vector<std::string> doomed{id};
  if (kind.kind == "ca_certificates") {  // services name CA certificates by id (Kong's message)
    for (const auto& row : rows_) {
      if (row.kind != "services" || row.body.find(id) == std::string::npos) continue;
      auto cas = string_list(parse_object(row.body).if_contains("ca_certificates"));
      if (std::find(cas.begin(), cas.end(), id) != cas.end()) {
        return kong_error(400, 19, "referenced by others",
                          "ca certificate " + id + " is still referenced by services (id = " + row.id + ")");
      }
    }
  }
  for (const auto& row : rows_) {
    if (row.body.find(id) == std::string::npos) continue;  // cannot refer to it: no need to parse
    json::object body = parse_object(row.body);
    for (auto ref : kind_named(row.kind).refs) {
      if (ref_kind(ref) != kind.kind || ref_id(body, ref) != id) continue;
      if (row.kind == "routes" || row.kind == "services" || row.kind == "upstreams") {  // Kong's on_delete: restrict
        return kong_error(400, 4, "foreign key violation",
                          "an existing '" + row.kind + "' entity references this '" + std::string(kind.kind) + "' entity",
                          json::object{{"@referenced_by", row.kind}});
      }
      doomed.push_back(row.id);
    }
  }
  store::Change change;
  for (const auto& row : rows_) {
    if (std::find(doomed.begin(), doomed.end(), row.id) != doomed.end()) change.deletes.emplace_back(row.kind, row.id);
  }
  // The model is changed only once the store has the change.
  auto done = [this, &kind, deletes = change.deletes](std::int64_t) -> Reply {
    forget(deletes);
    store::apply_deletes(model(), deletes);
    go_live("admin api: " + std::string(kind.kind));
    return {204, ""};
  };
  return Commit{std::move(change), false, std::move(done)};
}

}  // namespace portico::admin
