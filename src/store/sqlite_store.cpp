#include "store/sqlite_store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace portico::store {

namespace {

Error failure(ErrorKind kind, std::string message) {
  int status = kind == ErrorKind::conflict || kind == ErrorKind::outdated ? 409 : kind == ErrorKind::not_found ? 404 : 500;
  return Error{kind, ErrorOrigin::internal, status, false, std::move(message)};
}

// The schema, one step per release that changed it. Never edit a step that has shipped:
// add the next one.
constexpr const char* kMigrations[] = {
    // 1: entities as JSON rows; names unique per kind; a revision counter.
    "CREATE TABLE entities ("
    "  id TEXT PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  name TEXT,"
    "  body TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX entities_kind_name ON entities(kind, name) WHERE name IS NOT NULL;"
    "CREATE INDEX entities_kind ON entities(kind, created_at, id);"
    "CREATE TABLE revision (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);"
    "INSERT INTO revision VALUES (1, 0);",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { ok_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) == SQLITE_OK; }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return ok_; }
  void bind(int i, const std::string& s) { sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
  // An empty string as SQL NULL (an entity without a name is not unique by name).
  void bind_or_null(int i, const std::string& s) {
    if (s.empty()) sqlite3_bind_null(stmt_, i);
    else bind(i, s);
  }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  int step() { return sqlite3_step(stmt_); }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  bool ok_ = false;
};

constexpr const char* kSelectColumns = "SELECT kind, id, name, body, created_at, updated_at FROM entities";

Entity row(const Statement& s) {
  return Entity{s.text(0), s.text(1), s.text(2), s.text(3), s.integer(4), s.integer(5)};
}

}  // namespace

int SqliteStore::schema_version() { return kSchemaVersion; }

SqliteStore::SqliteStore(sqlite3* db, int lock_fd, std::string db_path)
    : db_(db), lock_fd_(lock_fd), db_path_(std::move(db_path)) {}

SqliteStore::~SqliteStore() {
  sqlite3_close_v2(db_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& data_dir) {
  std::error_code fs_error;
  // The database holds credentials: a directory Portico creates is its owner's only.
  if (std::filesystem::create_directories(data_dir, fs_error)) {
    std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all, fs_error);
  }
  if (fs_error) return failure(ErrorKind::unavailable, "cannot create data directory '" + data_dir + "': " + fs_error.message());
  std::string lock_path = data_dir + "/portico.lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return failure(ErrorKind::unavailable, "cannot open '" + lock_path + "': " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return failure(ErrorKind::unavailable, "data directory '" + data_dir +
                                                 "' is in use by another Portico process (it holds " + lock_path + ")");
    }
    return failure(ErrorKind::unavailable, "cannot lock '" + lock_path + "': " + std::strerror(err));
  }
  std::string db_path = data_dir + "/portico.db";
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    ::close(fd);
    return failure(ErrorKind::unavailable, "cannot open database '" + db_path + "': " + why);
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, fd, db_path));
  // WAL: readers never block the writer; FULL: the WAL is synced at every commit.
  {
    Statement wal(db, "PRAGMA journal_mode=WAL");
    if (!wal.ok() || wal.step() != SQLITE_ROW || wal.text(0) != "wal") {
      return failure(ErrorKind::unavailable, "database '" + db_path + "': cannot use WAL journaling");
    }
  }
  for (const char* pragma : {"PRAGMA synchronous=FULL;", "PRAGMA busy_timeout=5000;"}) {
    auto done = store->exec(pragma);
    if (!done.ok()) return done.error();
  }
  auto migrated = store->migrate();
  if (!migrated.ok()) return migrated.error();
  return store;
}

Result<bool> SqliteStore::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) == SQLITE_OK) return true;
  std::string why = message != nullptr ? message : sqlite3_errmsg(db_);
  sqlite3_free(message);
  return failure(ErrorKind::unavailable, "database '" + db_path_ + "': " + why);
}

Result<bool> SqliteStore::migrate() {
  auto made = exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);");
  if (!made.ok()) return made;
  int current = 0;
  {
    Statement s(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!s.ok() || s.step() != SQLITE_ROW) return failure(ErrorKind::unavailable, "database '" + db_path_ + "': cannot read its schema version");
    current = static_cast<int>(s.integer(0));
  }
  if (current > kSchemaVersion) {
    return failure(ErrorKind::unavailable, "database '" + db_path_ + "' has schema version " + std::to_string(current) +
                                               ", newer than this Portico's (" + std::to_string(kSchemaVersion) +
                                               "): run a newer Portico, or another data directory");
  }
  for (int v = current + 1; v <= kSchemaVersion; ++v) {
    std::string sql = "BEGIN IMMEDIATE;" + std::string(kMigrations[v - 1]) +
                      "INSERT INTO schema_migrations VALUES (" + std::to_string(v) + ", strftime('%s','now'));COMMIT;";
    auto done = exec(sql.c_str());
    if (!done.ok()) {
      exec("ROLLBACK;");
      return failure(ErrorKind::unavailable, "migration " + std::to_string(v) + " failed: " + done.error().message);
    }
  }
  return true;
}

Result<Contents> SqliteStore::read_now() {
  auto began = exec("BEGIN;");
  if (!began.ok()) return began.error();
  Contents out;
  bool complete = false;
  {
    Statement s(db_, (std::string(kSelectColumns) + " ORDER BY kind, created_at, rowid").c_str());
    int rc = s.ok() ? s.step() : SQLITE_ERROR;
    for (; rc == SQLITE_ROW; rc = s.step()) out.entities.push_back(row(s));
    Statement r(db_, "SELECT value FROM revision WHERE id = 1");
    if (rc == SQLITE_DONE && r.ok() && r.step() == SQLITE_ROW) {
      out.revision = r.integer(0);
      complete = true;
    }
  }
  std::string why = complete ? "" : sqlite3_errmsg(db_);
  auto committed = exec("COMMIT;");
  // Never a partial list as if it were everything: the snapshot would drop entities.
  if (!complete) {
    exec("ROLLBACK;");
    return failure(ErrorKind::unavailable, "database '" + db_path_ + "': cannot read the entities: " + why);
  }
  if (!committed.ok()) return committed.error();
  return out;
}

Result<Entity> SqliteStore::find(const std::string& kind, const std::string& id_or_name) {
  Statement s(db_, (std::string(kSelectColumns) + " WHERE kind = ?1 AND (id = ?2 OR name = ?2)").c_str());
  s.bind(1, kind);
  s.bind(2, id_or_name);
  int rc = s.ok() ? s.step() : SQLITE_ERROR;
  if (rc == SQLITE_ROW) return row(s);
  if (rc == SQLITE_DONE) return failure(ErrorKind::not_found, "Not found");
  return failure(ErrorKind::unavailable, "database '" + db_path_ + "': " + sqlite3_errmsg(db_));
}

boost::asio::awaitable<Result<Contents>> SqliteStore::read_all() { co_return read_now(); }

boost::asio::awaitable<Result<std::int64_t>> SqliteStore::revision() {
  Statement s(db_, "SELECT value FROM revision WHERE id = 1");
  if (!s.ok() || s.step() != SQLITE_ROW) co_return failure(ErrorKind::unavailable, sqlite3_errmsg(db_));
  co_return s.integer(0);
}

boost::asio::awaitable<Result<std::int64_t>> SqliteStore::apply(const Change& change, std::int64_t expected_revision) {
  co_return apply_now(change, expected_revision);
}

Result<std::int64_t> SqliteStore::apply_now(const Change& change, std::int64_t expected_revision) {
  auto began = exec("BEGIN IMMEDIATE;");
  if (!began.ok()) return began.error();
  auto abort = [&](Error e) -> Result<std::int64_t> {
    // After a failed COMMIT the transaction may still be open: it must end here, or every
    // later BEGIN fails.
    if (!sqlite3_get_autocommit(db_)) exec("ROLLBACK;");
    return e;
  };
  if (expected_revision != kAnyRevision) {
    Statement current(db_, "SELECT value FROM revision WHERE id = 1");
    if (!current.ok() || current.step() != SQLITE_ROW) return abort(failure(ErrorKind::unavailable, sqlite3_errmsg(db_)));
    if (current.integer(0) != expected_revision) {
      return abort(failure(ErrorKind::outdated, "the store is at revision " + std::to_string(current.integer(0)) +
                                                    ", the change was prepared at " + std::to_string(expected_revision)));
    }
  }
  {
    Statement del(db_, "DELETE FROM entities WHERE kind = ?1 AND id = ?2");
    for (const auto& [kind, id] : change.deletes) {
      del.bind(1, kind);
      del.bind(2, id);
      if (del.step() != SQLITE_DONE) return abort(failure(ErrorKind::unavailable, sqlite3_errmsg(db_)));
      del.reset();
    }
    Statement owner(db_, "SELECT kind FROM entities WHERE id = ?1");
    Statement put(db_,
                  "INSERT INTO entities (kind, id, name, body, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                  "ON CONFLICT(id) DO UPDATE SET name = excluded.name, body = excluded.body, updated_at = excluded.updated_at");
    for (const auto& e : change.upserts) {
      owner.bind(1, e.id);
      bool other_kind = owner.step() == SQLITE_ROW && owner.text(0) != e.kind;
      owner.reset();
      if (other_kind) return abort(failure(ErrorKind::conflict, "id '" + e.id + "' is taken by another entity"));
      put.bind(1, e.kind);
      put.bind(2, e.id);
      put.bind_or_null(3, e.name);
      put.bind(4, e.body);
      put.bind(5, e.created_at);
      put.bind(6, e.updated_at);
      int rc = put.step();
      put.reset();
      if (rc == SQLITE_CONSTRAINT) {
        return abort(failure(ErrorKind::conflict, e.kind + " name '" + e.name + "' is already taken"));
      }
      if (rc != SQLITE_DONE) return abort(failure(ErrorKind::unavailable, sqlite3_errmsg(db_)));
    }
  }
  std::int64_t revision = 0;
  {
    Statement bump(db_, "UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value");
    if (!bump.ok() || bump.step() != SQLITE_ROW) return abort(failure(ErrorKind::unavailable, sqlite3_errmsg(db_)));
    revision = bump.integer(0);
  }
  auto committed = exec("COMMIT;");
  if (!committed.ok()) return abort(committed.error());
  for (const auto& listener : listeners_) listener(revision);
  return revision;
}

void SqliteStore::on_change(std::function<void(std::int64_t revision)> listener) {
  listeners_.push_back(std::move(listener));
}

}  // namespace portico::store
