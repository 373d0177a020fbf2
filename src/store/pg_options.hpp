// Where the PostgreSQL store is, from the command line: `--database postgres://user:pass@host:port/db`
// (or postgresql://, or a libpq key=value string), or `--database postgres` with Kong's separate
// settings (--pg-host, --pg-port, --pg-user, --pg-password, --pg-database; PORTICO_PG_* in the
// environment, as Kong's KONG_PG_*).
#pragma once

#include <string>

#include "core/error.hpp"
#include "store/pg_store.hpp"

namespace portico::store {

struct PgSettings {
  std::string host = "127.0.0.1";
  int port = 5432;
  std::string user = "portico";
  std::string password;
  std::string database = "portico";
};

// Whether `database` (the --database value) names PostgreSQL.
bool names_postgres(const std::string& database);

// The connection options: `database` is a URI or key=value string, or "postgres" for
// `settings`. An error (kind config) names what libpq could not read.
Result<PgOptions> pg_options(const std::string& database, const PgSettings& settings);

}  // namespace portico::store
