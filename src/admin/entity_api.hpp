// Kong's entity endpoints: /services, /routes, /plugins, /consumers, /upstreams, their
// nested forms (/services/{s}/routes, /upstreams/{u}/targets, /consumers/{c}/key-auth...),
// with GET / POST / PUT / PATCH / DELETE as Kong 3.x answers them.
//
// With a store (`portico run` without -c), a write is validated by building the whole
// configuration it would make, with the same loader that reads kong.yml (store/declarative.hpp),
// then committed to the store (durable before the answer) and handed to the gateway to go
// live. Without one (DB-less, -c FILE), entities are read from the running configuration
// and writes answer Kong's 405 "operation unsupported".
//
// The entities are held in memory as of one store revision: reads answer from memory (also
// while the database is down). Writes take turns (one at a time on this node): each is
// validated against memory and committed only if the store is still at that revision; if
// another node wrote meanwhile, the store is read again and the write validated again.
// catch_up() follows other nodes' changes.
//
// Runs on the control thread, like the rest of the Admin API.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <variant>

#include "admin/exchange.hpp"
#include "core/turn_queue.hpp"
#include "config/model.hpp"
#include "schema/record.hpp"
#include "store/incremental.hpp"
#include "store/store.hpp"

namespace portico::admin {

class EntityApi {
 public:
  // Takes a validated configuration live (the gateway's staging of a new snapshot).
  using Activate = std::function<void(std::shared_ptr<const config::DeclarativeConfig> config, const std::string& why)>;
  // Runs `task` later on the thread that calls handle(), after the answer being made is sent
  // and before the next request is handled.
  using Defer = std::function<void(std::function<void()> task)>;
  // DB-less: the configuration now serving (it changes when the file is reloaded).
  using Current = std::function<std::shared_ptr<const config::DeclarativeConfig>()>;

  // Store mode: `contents` is the store as read at start, `initial` what its rows load to
  // (the gateway started with it).
  EntityApi(store::Store& store, store::Contents contents, config::DeclarativeConfig initial, Activate activate,
            Defer defer);
  // DB-less mode.
  explicit EntityApi(Current current);

  // The answer when `request.path` is an entity path; nullopt otherwise.
  boost::asio::awaitable<std::optional<Reply>> handle(const Request& request);

  // Brings the entities to `revision` of the store (another node's change; an older one
  // after a restore): reads the store, loads the rows and takes them live. Nothing when
  // already there; on a read error
  // the entities stay as they are (logged; the store reports the revision again later).
  boost::asio::awaitable<void> catch_up(std::int64_t revision);

  bool has_store() const { return store_ != nullptr; }
  // The store revision the entities in memory are at.
  std::int64_t revision() const { return revision_; }

  struct Kind;    // one entity collection (entity_api.cpp)
  struct Target;  // what a path names

  // A validated write, waiting for the store: `change` to apply, then `done` with the new
  // revision makes it live and answers. `model_changed`: the model was changed in place and
  // must be loaded again if the store refuses the change.
  struct Commit {
    store::Change change;
    bool model_changed = false;
    std::function<Reply(std::int64_t revision)> done;
  };
  using Outcome = std::variant<Reply, Commit>;

 private:
  // What the request makes: an answer, or for a valid write, the commit to make.
  std::optional<Outcome> prepare(const Request& request);
  Reply list(const Target& t, std::string_view path, std::string_view query);
  Reply get(const Target& t);
  Outcome create(const Target& t, const Request& r);
  Outcome upsert(const Target& t, const Request& r);  // PUT
  Outcome patch(const Target& t, const Request& r);
  Outcome remove(const Target& t);
  // Validates `body` as the entity `id` of the target's kind (replacing any row with that id);
  // the commit that stores it and makes it live, answering Kong's 201/200 with the entity;
  // or the error.
  Outcome write(const Target& t, boost::json::object body, schema::Input input, std::string id, std::int64_t created_at,
                int status);
  // Replaces the entities with the store's `contents` and takes them live.
  void take(store::Contents contents);
  // The model changed by what differs between rows_ and `fresh` (a few entities); false,
  // with the model untouched, when that is too much or does not apply (then: a full load).
  bool apply_difference(const std::vector<store::Entity>& fresh);
  // Kong's checks of a certificate's `snis` shorthand: "" or the message (a duplicate, a name
  // another certificate has).
  std::string sni_list_problem(const std::vector<std::string>& names, const std::string& certificate_id) const;
  // The certificate's SNI entities made `names` in the model (already holding the certificate)
  // and in `change`: names it no longer has deleted, new ones created.
  store::Applied replace_snis(const std::string& certificate_id, const std::vector<std::string>& names,
                              std::int64_t now, store::Change& change);
  void remember(const store::Entity& row);  // into rows_, in the store's order
  void forget(const std::vector<std::pair<std::string, std::string>>& deletes);
  void go_live(const std::string& why);  // hands the model to the gateway
  void discard_model();            // the working copy is dropped (after a failed commit)
  // The model to change (taken back from the live configuration first if it was handed over).
  config::DeclarativeConfig& model();
  // The model as it is now, to read (while a commit is pending, as it was before that write).
  const config::DeclarativeConfig& model_view() const {
    return model_current_ && !commit_pending_ ? config_ : *published_;
  }
  void refresh_dbless();
  const store::Entity* find(const Kind& kind, std::string_view id_or_name) const;
  boost::json::object answer(const store::Entity& row) const;

  store::Store* store_ = nullptr;
  Activate activate_;
  Current current_;
  std::vector<store::Entity> rows_;  // ordered by kind, created_at, insertion (as the store reads them)
  Defer defer_;
  // What rows_ load to: config_ (changed in place by each write) while model_current_, else
  // published_ (handed to the gateway by the last write, or the DB-less configuration).
  config::DeclarativeConfig config_;
  std::shared_ptr<const config::DeclarativeConfig> published_;
  bool model_current_ = true;
  bool commit_pending_ = false;  // a write is waiting for the store (the model holds it already)
  bool have_config_ = false;
  std::int64_t revision_ = 0;  // of the store, that rows_ are at
  TurnQueue turns_;            // writes and catch-ups, one at a time
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // deferred tasks run only while this lives
  std::string dbless_hash_;
};

}  // namespace portico::admin
