// `portico config ...` (Kong's CLI names): move a declarative file into a store and back, and
// check a file.
//   db_import FILE      adds the file's entities to the store (one transaction)
//   db_export [FILE]    writes the store's entities as a Kong 3.0 declarative file (stdout
//                       without FILE)
//   parse FILE          validates a declarative file (as `portico check`)
// The store: the embedded one in --data-dir (locked while a gateway runs on it: import and
// export refuse then), or PostgreSQL (--database), where running nodes take the import live
// (it commits only if no node wrote between its read and its commit).
#pragma once

#include <optional>
#include <string>

#include "store/pg_options.hpp"

namespace portico::cli {

// Where `portico config` works: PostgreSQL when `postgres` is set, else the data directory.
struct StoreLocation {
  std::string data_dir;
  std::optional<store::PgOptions> postgres;
};

int db_import(const StoreLocation& where, const std::string& file);
int db_export(const StoreLocation& where, const std::string& file);
int parse(const std::string& file);

}  // namespace portico::cli
