// Where Admin-API-managed configuration lives: Kong's entities as JSON rows.
//
// One small interface so that the Admin API and the snapshot builder never depend on a
// particular database: the embedded SQLite store (sqlite_store.hpp, the default without
// `-c`) now, PostgreSQL for clusters later. A store knows nothing of entity schemas; it
// keeps rows, applies changes atomically and durably, keeps names unique per kind, and
// counts revisions so that readers can tell whether anything changed.
//
// Threading: a store is used from the control thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace portico::store {

struct Entity {
  std::string kind;   // Kong's table name: "services", "routes", "plugins", "keyauth_credentials"...
  std::string id;     // UUID, unique across kinds
  std::string name;   // unique per kind when not empty (a service's name, a consumer's username)
  std::string body;   // the entity as JSON, in Kong's shape
  std::int64_t created_at = 0;  // seconds since the epoch
  std::int64_t updated_at = 0;
};

// Writes applied together or not at all.
struct Change {
  std::vector<Entity> upserts;                              // insert, or replace the row with that id
  std::vector<std::pair<std::string, std::string>> deletes;  // (kind, id); a missing row is not an error
};

// Everything in the store as of one revision.
struct Contents {
  std::vector<Entity> entities;  // ordered by kind, then created_at, then insertion order
  std::int64_t revision = 0;     // grows by one with every applied change
};

class Store {
 public:
  virtual ~Store() = default;
  // A consistent whole (one read transaction).
  virtual Result<Contents> read_all() = 0;
  // One entity, or an error of kind not_found.
  virtual Result<Entity> find(const std::string& kind, const std::string& id_or_name) = 0;
  // Applies `change` in one transaction, durable on disk when this returns; the new revision.
  // A name already used by another row of the same kind (or an id of another kind) is an
  // error of kind conflict, and nothing is applied.
  virtual Result<std::int64_t> apply(const Change& change) = 0;
  // Called after each change this process applied (and, for shared stores, changes other
  // nodes applied), with the new revision.
  virtual void on_change(std::function<void(std::int64_t revision)> listener) = 0;
};

}  // namespace portico::store
