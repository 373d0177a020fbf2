// Where Admin-API-managed configuration lives: Kong's entities as JSON rows.
//
// One small interface so that the Admin API and the snapshot builder never depend on a
// particular database: the embedded SQLite store (sqlite_store.hpp, the default without
// `-c`) and PostgreSQL (pg_store.hpp), which several Portico nodes share. A store knows
// nothing of entity schemas; it keeps rows, applies changes atomically and durably, keeps
// names unique per kind, and counts revisions so that readers can tell whether anything
// changed, here or on another node.
//
// Operations are coroutines on the control thread's io_context: a database across the
// network answers while the control thread goes on serving (SQLite's complete at once).
// Threading: a store is used from the control thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

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

// apply()'s `expected_revision` when the change was not prepared against a revision.
constexpr std::int64_t kAnyRevision = -1;

class Store {
 public:
  virtual ~Store() = default;
  // A consistent whole (one read transaction). An error of kind unavailable when the
  // database cannot be read.
  virtual boost::asio::awaitable<Result<Contents>> read_all() = 0;
  // The revision the store is at now (cheap: no entities read).
  virtual boost::asio::awaitable<Result<std::int64_t>> revision() = 0;
  // Applies `change` in one transaction, durable when this returns; the new revision.
  // A name already used by another row of the same kind (or an id of another kind) is an
  // error of kind conflict, and nothing is applied. Unless `expected_revision` is
  // kAnyRevision, the change applies only if the store is still at that revision (the one
  // the change was validated against); otherwise nothing is applied and the error is of kind
  // outdated (read again, validate again). Unreachable database: kind unavailable.
  virtual boost::asio::awaitable<Result<std::int64_t>> apply(const Change& change, std::int64_t expected_revision) = 0;
  // A write in steps: begin_write() takes the store's write lock (writers of every node
  // sharing the store wait for it, within a bound: kind unavailable after) and answers the
  // revision now; read_all() and apply() then act inside it; end_write(true) commits (the
  // change is durable, visible and announced when it returns), end_write(false) rolls back.
  // One write at a time per store object. Without begin_write, apply() is its own write.
  virtual boost::asio::awaitable<Result<std::int64_t>> begin_write() = 0;
  virtual boost::asio::awaitable<Result<bool>> end_write(bool commit) = 0;
  // Called on the control thread with a revision the store has reached: after each change
  // this process applied and, for shared stores, when another node's change is seen
  // (notified, or found by a periodic check). Revisions may come more than once and out of
  // order; listeners compare them with what they hold.
  virtual void on_change(std::function<void(std::int64_t revision)> listener) = 0;
  // False while the store is known not to answer (a shared database away): callers that can
  // do without it (reads) do not wait for it.
  virtual bool reachable() const { return true; }
};

}  // namespace portico::store
