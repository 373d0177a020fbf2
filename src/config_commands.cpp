#include "config_commands.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>

#include "config/export.hpp"
#include "config/loader.hpp"
#include "store/declarative.hpp"
#include "store/pg_store.hpp"
#include "store/sqlite_store.hpp"

#include <boost/asio/io_context.hpp>

#include "core/run_to_end.hpp"

namespace portico::cli {

namespace json = boost::json;

namespace {

void print_errors(const std::vector<config::ConfigError>& errors) {
  for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
}

// The store and everything in it; null (reported) when it cannot be read. Store operations
// are coroutines: they run to the end on a local io_context (core/run_to_end.hpp).
struct OpenedStore {
  boost::asio::io_context io;
  std::unique_ptr<store::Store> store;
  store::Contents contents;
  std::string name;  // for messages
};

std::unique_ptr<OpenedStore> open_store(const StoreLocation& where) {
  auto opened = std::make_unique<OpenedStore>();
  if (where.postgres) {
    opened->name = "PostgreSQL " + where.postgres->description;
    auto store = run_to_end(opened->io, store::PgStore::open(opened->io, *where.postgres));
    if (!store || !store->ok()) {
      std::fprintf(stderr, "%s: %s\n", opened->name.c_str(), store ? store->error().message.c_str() : "could not connect");
      return nullptr;
    }
    opened->store = std::move(store->value());
  } else {
    opened->name = where.data_dir;
    auto store = store::SqliteStore::open(where.data_dir);
    if (!store.ok()) {
      std::fprintf(stderr, "--data-dir %s: %s\n", where.data_dir.c_str(), store.error().message.c_str());
      return nullptr;
    }
    opened->store = std::move(*store);
  }
  auto contents = run_to_end(opened->io, opened->store->read_all());
  if (!contents || !contents->ok()) {
    std::fprintf(stderr, "%s: %s\n", opened->name.c_str(),
                 contents ? contents->error().message.c_str() : "cannot read the store");
    return nullptr;
  }
  opened->contents = std::move(contents->value());
  return opened;
}

}  // namespace

int db_import(const StoreLocation& where, const std::string& file) {
  auto loaded = config::load_declarative_file(file);
  if (!loaded.ok()) {
    print_errors(loaded.errors);
    std::fprintf(stderr, "%s: not imported\n", file.c_str());
    return 1;
  }
  auto opened = open_store(where);
  if (!opened) return 1;
  std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto rows = store::rows_from_config(loaded.config, now);
  // The store and the file together must still be one valid configuration.
  std::vector<store::Entity> combined = opened->contents.entities;
  for (const auto& r : rows) {
    bool replaced = false;
    for (auto& existing : combined) {
      if (existing.id == r.id) {
        existing = r;
        replaced = true;
      }
    }
    if (!replaced) combined.push_back(r);
  }
  auto check = store::load_rows(combined);
  if (!check.ok()) {
    print_errors(check.errors);
    std::fprintf(stderr, "%s: not imported: with the store's entities it is not a valid configuration\n", file.c_str());
    return 1;
  }
  store::Change change;
  change.upserts = std::move(rows);
  // Checked against what was read: a node's write in between makes the import refuse.
  auto applied = run_to_end(opened->io, opened->store->apply(change, opened->contents.revision));
  if (!applied || !applied->ok()) {
    std::fprintf(stderr, "%s: not imported: %s\n", file.c_str(),
                 applied ? applied->error().message.c_str() : "the store did not answer");
    return 1;
  }
  std::printf("%s: imported %zu entities into %s (revision %lld)\n", file.c_str(), change.upserts.size(),
              opened->name.c_str(), static_cast<long long>(applied->value()));
  return 0;
}

int db_export(const StoreLocation& where, const std::string& file) {
  auto opened = open_store(where);
  if (!opened) return 1;
  auto loaded = store::load_rows(opened->contents.entities);
  if (!loaded.ok()) {
    print_errors(loaded.errors);
    return 1;
  }
  std::string text = config::declarative_yaml(loaded.config);
  if (file.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  std::ofstream f(file, std::ios::binary | std::ios::trunc);
  f << text;
  if (!f.good()) {
    std::fprintf(stderr, "%s: cannot write\n", file.c_str());
    return 1;
  }
  std::fprintf(stderr, "exported %zu entities to %s\n", opened->contents.entities.size(), file.c_str());
  return 0;
}

int parse(const std::string& file) {
  auto loaded = config::load_declarative_file(file);
  if (!loaded.ok()) {
    print_errors(loaded.errors);
    std::fprintf(stderr, "%s: %zu error(s)\n", file.c_str(), loaded.errors.size());
    return 1;
  }
  std::printf("parse successful\n");
  return 0;
}

}  // namespace portico::cli
