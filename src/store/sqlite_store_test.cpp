#include "store/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

namespace portico::store {
namespace {

// A fresh data directory, removed afterwards.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/portico-store-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

Entity service(const std::string& id, const std::string& name, std::int64_t at = 1000) {
  return Entity{"services", id, name, R"({"name":")" + name + R"(","host":"h"})", at, at};
}

std::unique_ptr<SqliteStore> open_ok(const std::string& dir) {
  auto s = SqliteStore::open(dir);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? std::move(*s) : nullptr;
}

TEST(SqliteStore, AppliesChangesAndReadsThemBackAfterAReopen) {
  TempDir dir;
  {
    auto store = open_ok(dir.path + "/data");  // created when missing, for its owner only
    ASSERT_TRUE(store);
    EXPECT_EQ(std::filesystem::status(dir.path + "/data").permissions(), std::filesystem::perms::owner_all);
    EXPECT_EQ(store->read_now()->revision, 0);
    auto rev = store->apply_now({{service("id-1", "users"), service("id-2", "orders", 999)}, {}});
    ASSERT_TRUE(rev.ok()) << rev.error().message;
    EXPECT_EQ(*rev, 1);
    Entity route{"routes", "id-3", "", R"({"paths":["/users"],"service":{"id":"id-1"}})", 1001, 1001};
    EXPECT_EQ(*store->apply_now({{route}, {}}), 2);
  }
  auto store = open_ok(dir.path + "/data");
  ASSERT_TRUE(store);
  auto all = store->read_now();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->revision, 2);
  ASSERT_EQ(all->entities.size(), 3u);
  EXPECT_EQ(all->entities[0].kind, "routes");  // by kind, then creation time
  EXPECT_EQ(all->entities[1].name, "orders");
  EXPECT_EQ(all->entities[2].body, R"({"name":"users","host":"h"})");
  EXPECT_EQ(store->find("services", "users")->id, "id-1");
  EXPECT_EQ(store->find("services", "id-2")->name, "orders");
  EXPECT_EQ(store->find("routes", "users").error().kind, ErrorKind::not_found);
}

TEST(SqliteStore, UpsertKeepsCreationTimeAndDeleteRemoves) {
  TempDir dir;
  auto store = open_ok(dir.path);
  ASSERT_TRUE(store);
  store->apply_now({{service("id-1", "users", 1000)}, {}});
  Entity renamed = service("id-1", "people", 2000);
  store->apply_now({{renamed}, {}});
  auto e = store->find("services", "id-1");
  EXPECT_EQ(e->name, "people");
  EXPECT_EQ(e->created_at, 1000);
  EXPECT_EQ(e->updated_at, 2000);
  EXPECT_EQ(*store->apply_now({{}, {{"services", "id-1"}, {"services", "no-such-id"}}}), 3);
  EXPECT_TRUE(store->read_now()->entities.empty());
}

TEST(SqliteStore, ANameConflictAppliesNothing) {
  TempDir dir;
  auto store = open_ok(dir.path);
  ASSERT_TRUE(store);
  store->apply_now({{service("id-1", "users")}, {}});
  auto clash = store->apply_now({{service("id-2", "orders"), service("id-3", "users")}, {}});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().kind, ErrorKind::conflict);
  EXPECT_EQ(clash.error().status, 409);
  EXPECT_NE(clash.error().message.find("services name 'users' is already taken"), std::string::npos);
  auto all = store->read_now();
  EXPECT_EQ(all->entities.size(), 1u);  // "orders" was rolled back with it
  EXPECT_EQ(all->revision, 1);
  // Names are unique per kind; entities without a name never clash.
  Entity consumer{"consumers", "id-4", "users", "{}", 1, 1};
  Entity route_a{"routes", "id-5", "", "{}", 1, 1}, route_b{"routes", "id-6", "", "{}", 1, 1};
  EXPECT_TRUE(store->apply_now({{consumer, route_a, route_b}, {}}).ok());
  // An id belongs to one kind.
  Entity stolen{"routes", "id-1", "", "{}", 1, 1};
  EXPECT_EQ(store->apply_now({{stolen}, {}}).error().kind, ErrorKind::conflict);
}

TEST(SqliteStore, ASecondProcessOnTheSameDirectoryIsRefused) {
  TempDir dir;
  auto first = open_ok(dir.path);
  ASSERT_TRUE(first);
  auto second = SqliteStore::open(dir.path);  // its own lock file description: as another process
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, ErrorKind::unavailable);
  EXPECT_NE(second.error().message.find("is in use by another Portico process"), std::string::npos);
  first.reset();
  EXPECT_TRUE(SqliteStore::open(dir.path).ok());  // released with the store
}

TEST(SqliteStore, DurableSettingsAndSchemaVersion) {
  TempDir dir;
  auto store = open_ok(dir.path);
  ASSERT_TRUE(store);
  store.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path + "/portico.db").c_str(), &db), SQLITE_OK);
  auto single = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    std::string out = sqlite3_step(s) == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(s, 0)) : "";
    sqlite3_finalize(s);
    return out;
  };
  EXPECT_EQ(single("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(single("SELECT MAX(version) FROM schema_migrations"), std::to_string(SqliteStore::schema_version()));
  // A database from a newer Portico is refused, not downgraded.
  sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (999, 0)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto newer = SqliteStore::open(dir.path);
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.error().message.find("has schema version 999, newer than this Portico's"), std::string::npos)
      << newer.error().message;
}

TEST(SqliteStore, ListenersHearEveryAppliedChange) {
  TempDir dir;
  auto store = open_ok(dir.path);
  ASSERT_TRUE(store);
  std::vector<std::int64_t> heard;
  store->on_change([&](std::int64_t revision) { heard.push_back(revision); });
  store->apply_now({{service("id-1", "a")}, {}});
  store->apply_now({{service("id-2", "a")}, {}});  // conflict: not heard
  store->apply_now({{service("id-3", "b")}, {}});
  EXPECT_EQ(heard, (std::vector<std::int64_t>{1, 2}));
}

TEST(SqliteStore, AChangePreparedAtAnOlderRevisionIsRefusedWhole) {
  TempDir dir;
  auto store = open_ok(dir.path);
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->apply_now({{service("id-1", "a")}, {}}, 0), 1);
  auto late = store->apply_now({{service("id-2", "b")}, {{"services", "id-1"}}}, 0);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().kind, ErrorKind::outdated);
  EXPECT_NE(late.error().message.find("at revision 1, the change was prepared at 0"), std::string::npos) << late.error().message;
  auto all = store->read_now();
  ASSERT_EQ(all->entities.size(), 1u);  // nothing of the refused change
  EXPECT_EQ(all->entities[0].id, "id-1");
  EXPECT_EQ(all->revision, 1);
  EXPECT_EQ(*store->apply_now({{service("id-2", "b")}, {}}, 1), 2);
}

}  // namespace
}  // namespace portico::store
