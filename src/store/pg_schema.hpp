// The PostgreSQL store's schema and its migrations (Kong's verbs: `portico migrations
// bootstrap | up | list`).
//
// Tables (prefixed: the database may hold other applications' tables):
//   portico_entities    Kong's entities as JSON rows, names unique per kind
//   portico_revision    one row, the change counter every node follows
//   portico_migrations  the migrations applied, by version
// and the function portico_apply(expected, upserts, deletes), which applies one change in one
// transaction: it locks the revision row (writers from every node take turns), refuses a
// change prepared at another revision (SQLSTATE 40001), applies it, bumps the revision and
// NOTIFYs `portico_changes` with it (delivered at commit).
//
// Migrations run under a PostgreSQL advisory lock: nodes or jobs starting at once wait for
// each other, and the ones that come second find nothing left to do.
#pragma once

#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/error.hpp"
#include "store/pg_connection.hpp"

namespace portico::store {

constexpr const char* kChangesChannel = "portico_changes";

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// Every migration this build knows, in order.
const std::vector<Migration>& pg_migrations();

struct SchemaState {
  std::vector<int> applied;  // versions, ascending
  bool bootstrapped() const { return !applied.empty(); }
  int version() const { return applied.empty() ? 0 : applied.back(); }
};

// The migrations the database has (none when it was never bootstrapped).
boost::asio::awaitable<Result<SchemaState>> read_schema_state(PgConnection& conn);

// "" when a node can run on this database; else what to do, in Kong's words ("run
// 'portico migrations bootstrap'" ...).
std::string schema_problem(const SchemaState& state);

// Applies the missing migrations under the advisory lock; `bootstrap` refuses nothing but
// says when the database was already bootstrapped, `up` requires a bootstrapped one (as
// Kong's). Progress lines go to `report`. The versions applied by this call.
enum class MigrationVerb { bootstrap, up };
boost::asio::awaitable<Result<std::vector<int>>> run_migrations(PgConnection& conn, MigrationVerb verb,
                                                                std::vector<std::string>& report);

}  // namespace portico::store
