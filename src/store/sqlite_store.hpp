// The embedded store: SQLite (Debian's libsqlite3) in a data directory.
//
//   <data-dir>/portico.db     the database, WAL mode, synchronous=FULL: a change is on disk
//                             before apply() returns (and so before the Admin API's 2xx)
//   <data-dir>/portico.lock   held (flock) while a process has the store open: a second
//                             Portico on the same directory is refused, never let in
//
// The schema is versioned (table schema_migrations); opening applies the migrations this
// build knows that the database lacks, each in its own transaction, and refuses a database
// written by a newer Portico.
#pragma once

#include <memory>
#include <string>

#include "store/store.hpp"

struct sqlite3;

namespace portico::store {

class SqliteStore final : public Store {
 public:
  // Opens (creating the directory and database when missing) and migrates. Errors of kind
  // unavailable say what is wrong: locked by another process, newer schema, I/O.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& data_dir);
  ~SqliteStore() override;

  // The Store operations complete at once (SQLite is a library call): these are they,
  // callable without an io_context (the `portico config` commands), and the coroutines below.
  Result<Contents> read_now();
  Result<std::int64_t> apply_now(const Change& change, std::int64_t expected_revision = kAnyRevision);
  // One entity, or an error of kind not_found.
  Result<Entity> find(const std::string& kind, const std::string& id_or_name);

  boost::asio::awaitable<Result<Contents>> read_all() override;
  boost::asio::awaitable<Result<std::int64_t>> revision() override;
  boost::asio::awaitable<Result<std::int64_t>> apply(const Change& change, std::int64_t expected_revision) override;
  // The data directory's lock keeps other processes out: a write needs no more than apply().
  boost::asio::awaitable<Result<std::int64_t>> begin_write() override { return revision(); }
  boost::asio::awaitable<Result<bool>> end_write(bool) override { co_return true; }
  void on_change(std::function<void(std::int64_t revision)> listener) override;

  // The schema version this build writes (the last migration).
  static int schema_version();
  std::string path() const { return db_path_; }

 private:
  SqliteStore(sqlite3* db, int lock_fd, std::string db_path);
  Result<bool> exec(const char* sql);
  Result<bool> migrate();

  sqlite3* db_ = nullptr;
  int lock_fd_ = -1;
  std::string db_path_;
  std::vector<std::function<void(std::int64_t)>> listeners_;
};

}  // namespace portico::store
