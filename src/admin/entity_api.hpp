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
// Runs on the control thread, like the rest of the Admin API.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "admin/exchange.hpp"
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

  // Store mode: `initial` is what the store's rows load to (the gateway started with it).
  EntityApi(store::Store& store, std::vector<store::Entity> rows, config::DeclarativeConfig initial, Activate activate,
            Defer defer);
  // DB-less mode.
  explicit EntityApi(Current current);

  // The answer when `request.path` is an entity path; nullopt otherwise.
  std::optional<Reply> handle(const Request& request);

  bool has_store() const { return store_ != nullptr; }

  struct Kind;    // one entity collection (entity_api.cpp)
  struct Target;  // what a path names

 private:
  Reply list(const Target& t, std::string_view path, std::string_view query);
  Reply get(const Target& t);
  Reply create(const Target& t, const Request& r);
  Reply upsert(const Target& t, const Request& r);  // PUT
  Reply patch(const Target& t, const Request& r);
  Reply remove(const Target& t);
  // Validates `body` as the entity `id` of the target's kind (replacing any row with that id),
  // commits it and makes it live; the Kong answer (201/200 with the entity, or the error).
  Reply write(const Target& t, boost::json::object body, schema::Input input, std::string id, std::int64_t created_at,
              int status);
  // Kong's checks of a certificate's `snis` shorthand: "" or the message (a duplicate, a name
  // another certificate has).
  std::string sni_list_problem(const std::vector<std::string>& names, const std::string& certificate_id) const;
  // The certificate's SNI entities made `names` in the model (already holding the certificate)
  // and in `change`: names it no longer has deleted, new ones created.
  store::Applied replace_snis(const std::string& certificate_id, const std::vector<std::string>& names,
                              std::int64_t now, store::Change& change);
  void remember(const store::Entity& row);  // into rows_, in the store's order
  void forget(const std::vector<std::pair<std::string, std::string>>& deletes);
  void go_live(const Kind& kind);  // hands the model to the gateway
  void reload_model();             // the model from rows_ again (after a failed commit)
  // The model to change (taken back from the live configuration first if it was handed over).
  config::DeclarativeConfig& model();
  // The model as it is now, to read.
  const config::DeclarativeConfig& model_view() const { return model_current_ ? config_ : *published_; }
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
  bool have_config_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // deferred tasks run only while this lives
  std::string dbless_hash_;
};

}  // namespace portico::admin
