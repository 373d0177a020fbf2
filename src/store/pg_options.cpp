#include "store/pg_options.hpp"

#include <libpq-fe.h>

namespace portico::store {

namespace {

// A value in libpq's key='value' syntax.
std::string quoted(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

// libpq's parse errors quote the offending text, which may be the password: left out.
std::string without_quoted(const std::string& message) {
  std::string out;
  bool quoted = false;
  for (char c : message) {
    if (c == '"') {
      quoted = !quoted;
      if (quoted) out += "\"...\"";
      continue;
    }
    if (!quoted) out += c;
  }
  return out;
}

}  // namespace

bool names_postgres(const std::string& database) {
  return database == "postgres" || database.starts_with("postgres://") || database.starts_with("postgresql://") ||
         database.find('=') != std::string::npos;
}

Result<PgOptions> pg_options(const std::string& database, const PgSettings& settings) {
  PgOptions out;
  if (database == "postgres") {
    out.conninfo = "host=" + quoted(settings.host) + " port=" + std::to_string(settings.port) +
                   " user=" + quoted(settings.user) + " dbname=" + quoted(settings.database);
    if (!settings.password.empty()) out.conninfo += " password=" + quoted(settings.password);
  } else {
    out.conninfo = database;
  }
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(out.conninfo.c_str(), &error);
  if (parsed == nullptr) {
    std::string why = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return Error{ErrorKind::config, ErrorOrigin::internal, 500, false,
                 "--database: not a PostgreSQL URI or key=value string: " + without_quoted(why)};
  }
  std::string host, port, user, dbname;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string key = o->keyword;
    if (key == "host" || (key == "hostaddr" && host.empty())) host = o->val;
    else if (key == "port") port = o->val;
    else if (key == "user") user = o->val;
    else if (key == "dbname") dbname = o->val;
  }
  PQconninfoFree(parsed);
  // For messages and logs: never the password.
  out.description = (user.empty() ? "" : user + "@") + (host.empty() ? "localhost" : host) +
                    (port.empty() ? "" : ":" + port) + "/" + dbname;
  return out;
}

}  // namespace portico::store
