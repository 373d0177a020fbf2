#include "store/pg_schema.hpp"

namespace portico::store {

namespace asio = boost::asio;

namespace {

// pg_advisory_lock's key for migrations: any constant, the same in every Portico.
constexpr const char* kMigrationLock = "SELECT pg_advisory_lock(7340032019)";
constexpr const char* kMigrationUnlock = "SELECT pg_advisory_unlock(7340032019)";

Error refused(std::string message) {
  return Error{ErrorKind::unavailable, ErrorOrigin::internal, 500, false, std::move(message)};
}

// `outcome`, once the migration lock is released (it would go with the session anyway).
asio::awaitable<Result<std::vector<int>>> unlocked(PgConnection& conn, Result<std::vector<int>> outcome) {
  auto unlocking = co_await conn.query(kMigrationUnlock);
  (void)unlocking;
  co_return outcome;
}

}  // namespace

// Never edit a migration that has shipped: add the next one.
const std::vector<Migration>& pg_migrations() {
  static const std::vector<Migration> all = {
      {1, "000_base",
       R"sql(
CREATE TABLE portico_entities (
  id text PRIMARY KEY,
  kind text NOT NULL,
  name text,
  body text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  seq bigserial NOT NULL);
CREATE UNIQUE INDEX portico_entities_kind_name ON portico_entities (kind, name) WHERE name IS NOT NULL;
CREATE INDEX portico_entities_order ON portico_entities (kind COLLATE "C", created_at, seq);
CREATE TABLE portico_revision (id integer PRIMARY KEY CHECK (id = 1), value bigint NOT NULL);
INSERT INTO portico_revision VALUES (1, 0);
CREATE FUNCTION portico_apply(expected bigint, upserts jsonb, deletes jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  current_revision bigint;
  item jsonb;
  owner text;
BEGIN
  -- Writers take turns on this row; the revision they validated against must still hold.
  SELECT value INTO current_revision FROM portico_revision WHERE id = 1 FOR UPDATE;
  IF expected IS NOT NULL AND current_revision <> expected THEN
    RAISE EXCEPTION 'the store is at revision %, the change was prepared at %', current_revision, expected
      USING ERRCODE = 'serialization_failure';
  END IF;
  DELETE FROM portico_entities e USING jsonb_array_elements(deletes) d
    WHERE e.kind = d->>0 AND e.id = d->>1;
  FOR item IN SELECT value FROM jsonb_array_elements(upserts) LOOP
    SELECT kind INTO owner FROM portico_entities WHERE id = item->>'id';
    IF FOUND AND owner <> item->>'kind' THEN
      RAISE EXCEPTION 'id ''%'' is taken by another entity', item->>'id' USING ERRCODE = 'unique_violation';
    END IF;
    IF item->>'name' <> '' AND EXISTS (SELECT 1 FROM portico_entities
        WHERE kind = item->>'kind' AND name = item->>'name' AND id <> item->>'id') THEN
      RAISE EXCEPTION '% name ''%'' is already taken', item->>'kind', item->>'name' USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO portico_entities (id, kind, name, body, created_at, updated_at)
      VALUES (item->>'id', item->>'kind', NULLIF(item->>'name', ''), item->>'body',
              (item->>'created_at')::bigint, (item->>'updated_at')::bigint)
      ON CONFLICT (id) DO UPDATE SET name = excluded.name, body = excluded.body, updated_at = excluded.updated_at;
  END LOOP;
  UPDATE portico_revision SET value = value + 1 WHERE id = 1 RETURNING value INTO current_revision;
  PERFORM pg_notify('portico_changes', current_revision::text);
  RETURN current_revision;
END $$;
)sql"},
      // Each node's heartbeat (PgStore::set_heartbeat): what it runs, for GET /clustering/nodes.
      {2, "001_nodes",
       R"sql(
CREATE TABLE portico_nodes (
  node_id text PRIMARY KEY,
  hostname text NOT NULL,
  version text NOT NULL,
  config_hash text NOT NULL,
  revision bigint NOT NULL,
  last_seen bigint NOT NULL);
)sql"},
  };
  return all;
}

asio::awaitable<Result<SchemaState>> read_schema_state(PgConnection& conn) {
  auto exists = co_await conn.query("SELECT to_regclass('portico_migrations') IS NOT NULL");
  if (!exists.ok()) co_return exists.error();
  SchemaState state;
  if (exists->text(0, 0) != "t") co_return state;
  auto versions = co_await conn.query("SELECT version FROM portico_migrations ORDER BY version");
  if (!versions.ok()) co_return versions.error();
  for (int i = 0; i < versions->rows(); ++i) state.applied.push_back(static_cast<int>(versions->integer(i, 0)));
  co_return state;
}

std::string schema_problem(const SchemaState& state) {
  int known = pg_migrations().back().version;
  if (!state.bootstrapped()) {
    return "the database needs bootstrapping: run 'portico migrations bootstrap' (with the same --database)";
  }
  if (state.version() > known) {
    return "the database has migrations up to " + std::to_string(state.version()) + ", newer than this Portico's (" +
           std::to_string(known) + "): run a newer Portico";
  }
  if (state.version() < known) {
    return "new migrations are available (database at " + std::to_string(state.version()) + ", this Portico " +
           std::to_string(known) + "): run 'portico migrations up'";
  }
  return "";
}

namespace {
// Applies the migrations after version `from` (0: a new database), each in its transaction.
asio::awaitable<Result<std::vector<int>>> apply_missing(PgConnection& conn, int from, std::vector<std::string>& report);
}  // namespace

asio::awaitable<Result<std::vector<int>>> run_migrations(PgConnection& conn, MigrationVerb verb,
                                                         std::vector<std::string>& report) {
  // Held until unlocked or the session ends: another migrator waits here.
  auto locked = co_await conn.query(kMigrationLock, std::chrono::minutes(5));
  if (!locked.ok()) co_return locked.error();
  auto state = co_await read_schema_state(conn);
  Result<std::vector<int>> outcome = std::vector<int>{};
  if (!state.ok()) {
    outcome = state.error();
  } else if (verb == MigrationVerb::up && !state->bootstrapped()) {
    outcome = refused("the database needs bootstrapping: run 'portico migrations bootstrap'");
  } else if (verb == MigrationVerb::bootstrap && state->bootstrapped()) {
    report.push_back("database already bootstrapped");
  } else if (state->version() > pg_migrations().back().version) {
    outcome = refused(schema_problem(*state));
  } else {
    outcome = co_await apply_missing(conn, state->version(), report);
  }
  co_return co_await unlocked(conn, std::move(outcome));
}

namespace {

asio::awaitable<Result<std::vector<int>>> apply_missing(PgConnection& conn, int from, std::vector<std::string>& report) {
  if (from == 0) {
    auto made = co_await conn.query(
        "CREATE TABLE IF NOT EXISTS portico_migrations (version integer PRIMARY KEY, name text NOT NULL, "
        "applied_at timestamptz NOT NULL DEFAULT now())");
    if (!made.ok()) co_return made.error();
    report.push_back("bootstrapping database...");
  }
  std::vector<int> applied;
  for (const auto& m : pg_migrations()) {
    if (m.version <= from) continue;
    std::string sql = std::string("BEGIN;") + m.sql + ";INSERT INTO portico_migrations (version, name) VALUES (" +
                      std::to_string(m.version) + ", '" + m.name + "');COMMIT;";
    auto done = co_await conn.query(sql, std::chrono::minutes(5));
    if (!done.ok()) {
      auto rolled_back = co_await conn.query("ROLLBACK");
      (void)rolled_back;
      co_return refused("migration " + std::to_string(m.version) + " (" + m.name + ") failed: " + done.error().message);
    }
    report.push_back("migrated " + std::to_string(m.version) + " (" + m.name + ")");
    applied.push_back(m.version);
  }
  if (applied.empty()) report.push_back("database is already up-to-date");
  co_return applied;
}

}  // namespace

}  // namespace portico::store
