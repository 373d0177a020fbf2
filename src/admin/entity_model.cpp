// EntityApi's in-memory model and how it follows the store: the rows kept in the store's
// order, the working copy of the configuration handed to the gateway (go_live) and taken back,
// and catching up with other nodes' changes (only what differs, or a full load).
// The request handling is in entity_api.cpp.
#include <algorithm>
#include <chrono>
#include <spdlog/spdlog.h>
#include <unordered_map>

#include "admin/entity_api.hpp"
#include "store/declarative.hpp"
#include "store/incremental.hpp"

namespace portico::admin {

namespace asio = boost::asio;

asio::awaitable<void> EntityApi::catch_up(std::int64_t revision) {
  // Any other revision than ours: newer, or older when the database was restored or reset
  // (the nodes follow it back rather than keep what it no longer has).
  if (store_ == nullptr || revision == revision_) co_return;
  auto turn = co_await turns_.take();
  if (revision == revision_) co_return;  // a write or an earlier catch-up got there meanwhile
  auto started = std::chrono::steady_clock::now();
  auto fresh = co_await store_->read_all();
  if (!fresh.ok()) {
    spdlog::warn("store: cannot read revision {}: {}; this node keeps serving revision {}", revision,
                 fresh.error().message, revision_);
    co_return;
  }
  if (fresh->revision == revision_) co_return;
  auto read = std::chrono::steady_clock::now();
  take(std::move(*fresh));
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  auto now = std::chrono::steady_clock::now();
  spdlog::debug("store: revision {} loaded in {:.1f} ms (read {:.1f} ms, load and snapshot {:.1f} ms)", revision_,
                ms(started, now), ms(started, read), ms(read, now));
}

bool EntityApi::apply_difference(const std::vector<store::Entity>& fresh) {
  // What changed since rows_, by id: bodies compared as stored (a row rewritten the same is
  // not a change).
  std::unordered_map<std::string_view, const store::Entity*> before;
  before.reserve(rows_.size());
  for (const auto& r : rows_) before.emplace(r.id, &r);
  std::vector<const store::Entity*> changed;
  std::unordered_map<std::string_view, bool> present;
  present.reserve(fresh.size());
  for (const auto& r : fresh) {
    present.emplace(r.id, true);
    auto it = before.find(r.id);
    if (it == before.end() || it->second->kind != r.kind || it->second->body != r.body || it->second->name != r.name) {
      changed.push_back(&r);
    }
  }
  std::vector<std::pair<std::string, std::string>> removed;
  for (const auto& r : rows_) {
    if (present.find(r.id) == present.end()) removed.emplace_back(r.kind, r.id);
  }
  constexpr std::size_t kMostEntities = 64;  // beyond, one full load costs less than many small ones
  if (changed.size() + removed.size() > kMostEntities) return false;
  // In the declarative order (services before their routes...), each against the rows as
  // they are with what came before it.
  auto order = [](std::string_view kind) {
    for (std::size_t i = 0; i < std::size(store::kKinds); ++i) {
      if (kind == store::kKinds[i]) return i;
    }
    return std::size(store::kKinds);
  };
  std::stable_sort(changed.begin(), changed.end(),
                   [&](const store::Entity* a, const store::Entity* b) { return order(a->kind) < order(b->kind); });
  std::vector<store::Entity> rows;
  rows.reserve(rows_.size() + changed.size());
  for (const auto& r : rows_) {
    if (present.find(r.id) != present.end()) rows.push_back(r);
  }
  config::DeclarativeConfig& m = model();
  store::apply_deletes(m, removed);
  for (const auto* r : changed) {
    store::Applied applied = store::apply_upsert(m, rows, *r);
    if (!applied.ok()) {
      discard_model();
      return false;
    }
    auto same = std::find_if(rows.begin(), rows.end(), [&](const store::Entity& x) { return x.id == r->id; });
    if (same != rows.end()) *same = *r;
    else rows.push_back(*r);
  }
  return true;
}

void EntityApi::take(store::Contents contents) {
  // Another node's write is usually one entity or a few: applied to the model as this node's
  // own writes are, instead of loading every row again (seconds at 10,000 routes).
  if (apply_difference(contents.entities)) {
    rows_ = std::move(contents.entities);
    revision_ = contents.revision;
    go_live("store revision " + std::to_string(revision_));
    return;
  }
  auto loaded = store::load_rows(contents.entities);
  if (!loaded.ok()) {
    // Written by a node whose Portico accepts what this one does not (a newer version?):
    // this node keeps what it has rather than serve half of it.
    spdlog::error("store: revision {} does not load here, this node keeps revision {}: {}", contents.revision, revision_,
                  loaded.errors.front().to_string());
    return;
  }
  rows_ = std::move(contents.entities);
  revision_ = contents.revision;
  config_ = std::move(loaded.config);
  model_current_ = true;
  go_live("store revision " + std::to_string(revision_));
}

void EntityApi::remember(const store::Entity& row) {
  // rows_ keeps the store's order: a new row goes last among its kind.
  auto existing = std::find_if(rows_.begin(), rows_.end(), [&](const store::Entity& r) { return r.id == row.id; });
  if (existing != rows_.end()) {
    existing->name = row.name;
    existing->body = row.body;
    existing->updated_at = row.updated_at;
  } else {
    auto after = std::find_if(rows_.rbegin(), rows_.rend(), [&](const store::Entity& r) { return r.kind <= row.kind; });
    rows_.insert(after.base(), row);
  }
}

void EntityApi::forget(const std::vector<std::pair<std::string, std::string>>& deletes) {
  rows_.erase(std::remove_if(rows_.begin(), rows_.end(),
                             [&](const store::Entity& r) {
                               return std::any_of(deletes.begin(), deletes.end(),
                                                  [&](const auto& d) { return d.first == r.kind && d.second == r.id; });
                             }),
              rows_.end());
}

namespace {

// Room for new entities at the end of each list: a copy's lists are exactly full, and the
// next write's append would move every element of the list to a new array.
void reserve_headroom(config::DeclarativeConfig& c) {
  constexpr std::size_t kRoom = 256;
  c.services.reserve(c.services.size() + kRoom);
  c.routes.reserve(c.routes.size() + kRoom);
  c.upstreams.reserve(c.upstreams.size() + kRoom);
  c.consumers.reserve(c.consumers.size() + kRoom);
  c.plugins.reserve(c.plugins.size() + kRoom);
  c.certificates.reserve(c.certificates.size() + kRoom);
  c.snis.reserve(c.snis.size() + kRoom);
  c.ca_certificates.reserve(c.ca_certificates.size() + kRoom);
}

}  // namespace

void EntityApi::go_live(const std::string& why) {
  // The model goes live as it is: copying a large configuration first would delay the change
  // by as much as building its snapshot. The working copy is taken back from it once the
  // answer is on its way, before the next request.
  published_ = std::make_shared<const config::DeclarativeConfig>(std::move(config_));
  model_current_ = false;
  activate_(published_, why);
  if (defer_) {
    defer_([this, alive = std::weak_ptr<int>(alive_)] {
      if (alive.lock()) model();
    });
  }
}

config::DeclarativeConfig& EntityApi::model() {
  if (!model_current_) {
    config_ = *published_;
    reserve_headroom(config_);
    model_current_ = true;
  }
  return config_;
}

void EntityApi::discard_model() {
  // published_ is what rows_ load to (every commit and catch-up publishes): the working copy
  // is taken from it again when next needed.
  model_current_ = false;
}

}  // namespace portico::admin
