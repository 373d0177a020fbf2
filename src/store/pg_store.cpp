#include "store/pg_store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <random>
#include <spdlog/spdlog.h>

#include "obs/log_limiter.hpp"
#include "store/pg_schema.hpp"

namespace portico::store {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// One statement reads everything: a single statement sees one snapshot of the database, so
// the rows and the revision agree. Ordered as the SQLite store orders them (bytewise kinds).
constexpr const char* kReadAll =
    "SELECT r.value, e.kind, e.id, e.name, e.body, e.created_at, e.updated_at "
    "FROM portico_revision r LEFT JOIN portico_entities e ON true WHERE r.id = 1 "
    "ORDER BY e.kind COLLATE \"C\", e.created_at, e.seq";

// The revision row is gone: the schema was dropped or changed under the running nodes.
Error missing_revision() {
  return Error{ErrorKind::unavailable, ErrorOrigin::internal, 503, true,
               "the database has no portico_revision row: was it reset? run 'portico migrations list'"};
}

asio::awaitable<void> sleep_for(asio::io_context& io, std::chrono::milliseconds d) {
  asio::steady_timer timer(io, d);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;
}

}  // namespace

PgStore::PgStore(asio::io_context& io, PgOptions options, std::unique_ptr<PgConnection> commands)
    : io_(io), options_(std::move(options)), commands_(std::move(commands)) {}

PgStore::~PgStore() { *alive_ = false; }

asio::awaitable<Result<std::unique_ptr<PgStore>>> PgStore::open(asio::io_context& io, PgOptions options) {
  auto conn = co_await PgConnection::connect(io, options.conninfo, options.connect_timeout);
  if (!conn.ok()) co_return conn.error();
  auto state = co_await read_schema_state(**conn);
  if (!state.ok()) co_return state.error();
  std::string problem = schema_problem(*state);
  if (!problem.empty()) co_return Error{ErrorKind::unavailable, ErrorOrigin::internal, 500, false, problem};
  co_return std::unique_ptr<PgStore>(new PgStore(io, std::move(options), std::move(*conn)));
}

void PgStore::note_reachable(bool reachable, const std::string& why) {
  if (!reachable) {
    last_failure_ = why;
    next_connect_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  } else {
    next_connect_ = {};
  }
  if (reachable == reachable_) return;
  reachable_ = reachable;
  if (reachable) {
    spdlog::info("store: PostgreSQL {} is reachable again", options_.description);
  } else {
    spdlog::error("store: PostgreSQL {} is unreachable ({}); this node keeps serving its configuration, Admin API "
                  "writes answer 503 until it is back",
                  options_.description, why);
  }
}

asio::awaitable<Result<PgConnection*>> PgStore::commands(std::chrono::milliseconds connect_timeout) {
  if (commands_ && commands_->still_open()) co_return commands_.get();
  commands_.reset();
  // While the database is away, calls fail at once instead of each waiting for a connect
  // attempt (up to connect_timeout when packets are dropped): one attempt per second at most.
  auto now = std::chrono::steady_clock::now();
  if (!reachable_ && now < next_connect_) {
    co_return Error{ErrorKind::unavailable, ErrorOrigin::internal, 503, true,
                    "PostgreSQL " + options_.description + " is unreachable (" + last_failure_ + ")"};
  }
  auto conn = co_await PgConnection::connect(io_, options_.conninfo, std::min(connect_timeout, options_.connect_timeout));
  if (!conn.ok()) {
    note_reachable(false, conn.error().message);
    co_return conn.error();
  }
  commands_ = std::move(*conn);
  co_return commands_.get();
}

asio::awaitable<Result<PgConnection*>> PgStore::connection_for_statement(std::chrono::milliseconds connect_timeout) {
  if (writing_ == nullptr) co_return co_await commands(connect_timeout);
  if (commands_.get() != writing_ || writing_->broken()) {
    co_return Error{ErrorKind::unavailable, ErrorOrigin::internal, 503, true,
                    "the connection to PostgreSQL " + options_.description + " was lost during the write"};
  }
  co_return writing_;
}

asio::awaitable<Result<std::int64_t>> PgStore::begin_write() {
  auto turn = co_await turns_.take();
  auto conn = co_await commands();
  if (!conn.ok()) co_return conn.error();
  auto locked = co_await (*conn)->query("BEGIN; SELECT value FROM portico_revision WHERE id = 1 FOR UPDATE");
  if (!locked.ok() || locked->rows() != 1) {
    auto rolled_back = co_await (*conn)->query("ROLLBACK", std::chrono::seconds(2));
    (void)rolled_back;
    Error e = locked.ok() ? missing_revision() : locked.error();
    e.retryable = true;  // nothing was written
    if (e.kind == ErrorKind::unavailable) note_reachable(false, e.message);
    co_return e;
  }
  note_reachable(true, "");
  writing_ = *conn;
  written_revision_ = -1;
  co_return locked->integer(0, 0);
}

asio::awaitable<Result<bool>> PgStore::end_write(bool commit) {
  auto turn = co_await turns_.take();
  PgConnection* conn = writing_;
  writing_ = nullptr;
  if (conn == nullptr || commands_.get() != conn || conn->broken()) {
    co_return Error{ErrorKind::unavailable, ErrorOrigin::internal, 503, !commit,
                    "the connection to PostgreSQL " + options_.description + " was lost during the write"};
  }
  auto ended = co_await conn->query(commit ? "COMMIT" : "ROLLBACK");
  if (!ended.ok()) {
    Error e = ended.error();
    if (commit) e.retryable = false;  // the COMMIT may have happened
    if (e.kind == ErrorKind::unavailable) note_reachable(false, e.message);
    co_return e;
  }
  if (commit && written_revision_ >= 0) heard(written_revision_);
  co_return true;
}

asio::awaitable<Result<Contents>> PgStore::read_all() {
  auto turn = co_await turns_.take();
  auto conn = co_await connection_for_statement();
  if (!conn.ok()) co_return conn.error();
  auto rows = co_await (*conn)->query(kReadAll);
  if (!rows.ok()) {
    if (rows.error().kind == ErrorKind::unavailable) note_reachable(false, rows.error().message);
    co_return rows.error();
  }
  if (rows->rows() == 0) co_return missing_revision();
  note_reachable(true, "");
  Contents out;
  out.entities.reserve(static_cast<std::size_t>(rows->rows()));
  for (int i = 0; i < rows->rows(); ++i) {
    if (i == 0) out.revision = rows->integer(i, 0);
    if (rows->is_null(i, 1)) continue;  // no entities: the revision alone
    out.entities.push_back(Entity{rows->text(i, 1), rows->text(i, 2), rows->is_null(i, 3) ? "" : rows->text(i, 3),
                                  rows->text(i, 4), rows->integer(i, 5), rows->integer(i, 6)});
  }
  co_return out;
}

asio::awaitable<Result<std::int64_t>> PgStore::revision() {
  // A quick question (a read's freshness check): two seconds at most, connecting included.
  auto turn = co_await turns_.take();
  auto conn = co_await connection_for_statement(std::chrono::seconds(2));
  if (!conn.ok()) co_return conn.error();
  auto rows = co_await (*conn)->query("SELECT value FROM portico_revision WHERE id = 1", std::chrono::seconds(2));
  if (!rows.ok()) {
    if (rows.error().kind == ErrorKind::unavailable) note_reachable(false, rows.error().message);
    co_return rows.error();
  }
  if (rows->rows() != 1) co_return missing_revision();
  note_reachable(true, "");
  co_return rows->integer(0, 0);
}

asio::awaitable<Result<std::int64_t>> PgStore::apply(const Change& change, std::int64_t expected_revision) {
  json::array upserts, deletes;
  for (const auto& e : change.upserts) {
    upserts.push_back(json::object{{"kind", e.kind}, {"id", e.id}, {"name", e.name}, {"body", e.body},
                                   {"created_at", e.created_at}, {"updated_at", e.updated_at}});
  }
  for (const auto& [kind, id] : change.deletes) deletes.push_back(json::array{json::value(kind), json::value(id)});
  std::vector<PgConnection::Param> params;
  if (expected_revision == kAnyRevision) params.emplace_back(std::nullopt);
  else params.emplace_back(std::to_string(expected_revision));
  params.emplace_back(json::serialize(upserts));
  params.emplace_back(json::serialize(deletes));

  auto turn = co_await turns_.take();
  auto conn = co_await connection_for_statement();
  if (!conn.ok()) co_return conn.error();
  auto applied = co_await (*conn)->query_params("SELECT portico_apply($1::bigint, $2::jsonb, $3::jsonb)", std::move(params));
  if (!applied.ok()) {
    if (applied.error().kind == ErrorKind::unavailable) note_reachable(false, applied.error().message);
    co_return applied.error();
  }
  if (applied->rows() != 1 || applied->is_null(0, 0)) co_return missing_revision();
  note_reachable(true, "");
  std::int64_t revision = applied->integer(0, 0);
  if (writing_ != nullptr) {
    written_revision_ = revision;  // announced when committed
  } else {
    heard(revision);
  }
  co_return revision;
}

void PgStore::on_change(std::function<void(std::int64_t revision)> listener) { listeners_.push_back(std::move(listener)); }

void PgStore::heard(std::int64_t revision) {
  for (const auto& listener : listeners_) listener(revision);
}

asio::awaitable<Result<std::vector<NodeReport>>> PgStore::nodes(std::int64_t within) {
  auto turn = co_await turns_.take();
  auto conn = co_await connection_for_statement(std::chrono::seconds(2));
  if (!conn.ok()) co_return conn.error();
  std::vector<PgConnection::Param> params;
  params.emplace_back(std::to_string(within));
  auto rows = co_await (*conn)->query_params(
      "SELECT node_id, hostname, version, config_hash, revision, last_seen FROM portico_nodes "
      "WHERE last_seen >= extract(epoch from now())::bigint - $1::bigint ORDER BY hostname, node_id",
      std::move(params), std::chrono::seconds(2));
  if (!rows.ok()) {
    if (rows.error().kind == ErrorKind::unavailable) note_reachable(false, rows.error().message);
    co_return rows.error();
  }
  std::vector<NodeReport> out;
  for (int i = 0; i < rows->rows(); ++i) {
    out.push_back(NodeReport{rows->text(i, 0), rows->text(i, 1), rows->text(i, 2), rows->text(i, 3), rows->integer(i, 4),
                             rows->integer(i, 5)});
  }
  co_return out;
}

asio::awaitable<std::optional<Error>> PgStore::beat(PgConnection& conn) {
  if (!heartbeat_) co_return std::nullopt;
  NodeReport r = heartbeat_();
  std::vector<PgConnection::Param> params;
  for (std::string* value : {&r.node_id, &r.hostname, &r.version, &r.config_hash}) params.emplace_back(std::move(*value));
  params.emplace_back(std::to_string(r.revision));
  // The database's clock, not the node's: rows are compared with each other. Rows of nodes
  // gone for a day are removed on the way (a node's id is new with each process).
  auto written = co_await conn.query_params(
      "WITH gone AS (DELETE FROM portico_nodes WHERE last_seen < extract(epoch from now())::bigint - 86400) "
      "INSERT INTO portico_nodes (node_id, hostname, version, config_hash, revision, last_seen) "
      "VALUES ($1, $2, $3, $4, $5::bigint, extract(epoch from now())::bigint) ON CONFLICT (node_id) DO UPDATE SET "
      "hostname = excluded.hostname, version = excluded.version, config_hash = excluded.config_hash, "
      "revision = excluded.revision, last_seen = excluded.last_seen",
      std::move(params), std::chrono::seconds(2));
  if (written.ok()) co_return std::nullopt;
  // Only a lost connection ends the follower; a refused heartbeat (a role without rights on
  // portico_nodes) must not stop this node from following changes.
  if (written.error().kind == ErrorKind::unavailable) co_return written.error();
  static obs::OncePerSecond log;
  if (log.allow()) spdlog::warn("store: this node's heartbeat in portico_nodes was refused: {}", written.error().message);
  co_return std::nullopt;
}

void PgStore::follow() { asio::co_spawn(io_, follow_loop(alive_), asio::detached); }

asio::awaitable<void> PgStore::follow_loop(std::shared_ptr<bool> alive) {
  std::minstd_rand jitter(std::random_device{}());
  constexpr auto kFirstBackoff = std::chrono::milliseconds(100), kMaxBackoff = std::chrono::milliseconds(5000);
  auto backoff = kFirstBackoff;
  while (*alive) {
    auto conn = co_await PgConnection::connect(io_, options_.conninfo, options_.connect_timeout);
    if (!*alive) co_return;
    std::optional<Error> failed;
    if (!conn.ok()) {
      failed = conn.error();
    } else {
      auto listening = co_await (*conn)->query(std::string("LISTEN ") + kChangesChannel);
      if (!*alive) co_return;
      if (!listening.ok()) failed = listening.error();
    }
    // Listening from here on; what was committed before is read now (a change made while
    // this node was away from the database is caught up here), then whenever nothing was
    // heard for update_frequency.
    bool check_now = true;
    auto last_beat = std::chrono::steady_clock::time_point{};
    while (!failed) {
      if (std::chrono::steady_clock::now() - last_beat >= std::chrono::seconds(1)) {
        auto beat_failed = co_await beat(**conn);
        if (!*alive) co_return;
        if (beat_failed) {
          failed = std::move(beat_failed);
          break;
        }
        last_beat = std::chrono::steady_clock::now();
      }
      if (check_now) {
        auto current = co_await (*conn)->query("SELECT value FROM portico_revision WHERE id = 1", std::chrono::seconds(2));
        if (!*alive) co_return;
        if (!current.ok()) {
          failed = current.error();
          break;
        }
        if (current->rows() != 1) {
          failed = missing_revision();
          break;
        }
        backoff = kFirstBackoff;  // a full round trip worked
        note_reachable(true, "");
        heard(current->integer(0, 0));
      }
      auto heard_now = co_await (*conn)->notifications(options_.update_frequency);
      if (!*alive) co_return;
      if (!heard_now.ok()) {
        failed = heard_now.error();
        break;
      }
      check_now = heard_now->empty();  // nothing for a while: look anyway
      for (const auto& n : *heard_now) {
        char* end = nullptr;
        long long revision = std::strtoll(n.payload.c_str(), &end, 10);
        if (end != n.payload.c_str()) heard(revision);
      }
    }
    note_reachable(false, failed->message);
    // Nodes that lost the database together must not come back to it in step.
    auto pause = backoff / 2 + std::chrono::milliseconds(jitter() % (backoff.count() / 2 + 1));
    co_await sleep_for(io_, pause);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace portico::store
