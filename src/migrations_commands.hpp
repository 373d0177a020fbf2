// `portico migrations bootstrap | up | list` (Kong's verbs) on the PostgreSQL store named by
// --database (store/pg_options.hpp).
//   bootstrap  creates the schema in an empty database ("already bootstrapped": nothing, exit 0)
//   up         applies the migrations this build has and the database lacks
//   list       shows the applied and pending migrations; exit 0 when up to date, 3 when the
//              database needs bootstrapping, 4 when migrations are pending (as Kong's)
// Several nodes or jobs may run them at once: they take turns on an advisory lock, and the
// later ones find the work done.
#pragma once

#include <string>

#include "store/pg_options.hpp"

namespace portico::cli {

int migrations(const std::string& verb, const store::PgOptions& options);

}  // namespace portico::cli
