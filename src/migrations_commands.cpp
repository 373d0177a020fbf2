#include "migrations_commands.hpp"

#include <boost/asio/io_context.hpp>
#include <algorithm>
#include <cstdio>

#include "core/run_to_end.hpp"
#include "store/pg_schema.hpp"

namespace portico::cli {

namespace asio = boost::asio;

namespace {

asio::awaitable<int> run(asio::io_context& io, std::string verb, store::PgOptions options) {
  auto conn = co_await store::PgConnection::connect(io, options.conninfo, options.connect_timeout);
  if (!conn.ok()) {
    std::fprintf(stderr, "PostgreSQL %s: %s\n", options.description.c_str(), conn.error().message.c_str());
    co_return 1;
  }
  if (verb == "list") {
    auto state = co_await store::read_schema_state(**conn);
    if (!state.ok()) {
      std::fprintf(stderr, "PostgreSQL %s: %s\n", options.description.c_str(), state.error().message.c_str());
      co_return 1;
    }
    if (!state->bootstrapped()) {
      std::printf("database needs bootstrapping: run 'portico migrations bootstrap'\n");
      co_return 3;
    }
    std::printf("executed migrations:\n");
    int pending = 0;
    for (const auto& m : store::pg_migrations()) {
      bool applied = std::find(state->applied.begin(), state->applied.end(), m.version) != state->applied.end();
      if (applied) std::printf("  %d %s\n", m.version, m.name);
      else ++pending;
    }
    if (pending == 0) {
      std::printf("database is up-to-date\n");
      co_return 0;
    }
    std::printf("pending migrations:\n");
    for (const auto& m : store::pg_migrations()) {
      if (std::find(state->applied.begin(), state->applied.end(), m.version) == state->applied.end()) {
        std::printf("  %d %s\n", m.version, m.name);
      }
    }
    std::printf("run 'portico migrations up' to proceed\n");
    co_return 4;
  }
  std::vector<std::string> report;
  auto verb_kind = verb == "bootstrap" ? store::MigrationVerb::bootstrap : store::MigrationVerb::up;
  auto done = co_await store::run_migrations(**conn, verb_kind, report);
  for (const auto& line : report) std::printf("%s\n", line.c_str());
  if (!done.ok()) {
    std::fprintf(stderr, "PostgreSQL %s: %s\n", options.description.c_str(), done.error().message.c_str());
    co_return 1;
  }
  if (!done->empty()) std::printf("%zu migration(s) applied\n", done->size());
  co_return 0;
}

}  // namespace

int migrations(const std::string& verb, const store::PgOptions& options) {
  asio::io_context io;
  return run_to_end(io, run(io, verb, options)).value_or(1);
}

}  // namespace portico::cli
