// The PostgreSQL store: the entities of several Portico nodes in one database (Kong's
// `database = postgres`). Schema and migrations: pg_schema.hpp.
//
// Two connections per node, both on the control thread's io_context:
//   - commands: read_all() and apply(), one at a time; after a failure it is connected again
//     by the next operation (an operation while the database is down fails at once with
//     kind unavailable: the Admin API answers 503, the node keeps its configuration);
//   - follower: LISTENs to `portico_changes` and reports each revision another node commits
//     to on_change() listeners; every `update_frequency` it also reads the revision (a
//     notification lost while the connection was down cannot leave a node stale). When the
//     connection fails it is made again with backoff (100 ms doubling to 5 s), and the
//     revision is read as soon as it is back.
//
// Threading: the control thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/turn_queue.hpp"
#include "store/pg_connection.hpp"
#include "store/store.hpp"

namespace portico::store {

// What a node says of itself in portico_nodes (its heartbeat) and what GET /clustering/nodes lists.
struct NodeReport {
  std::string node_id, hostname, version, config_hash;
  std::int64_t revision = 0;
  std::int64_t last_seen = 0;  // unix seconds (set by the store)
};

struct PgOptions {
  std::string conninfo;     // a postgres:// URI or libpq key=value string (holds the password)
  std::string description;  // user@host:port/database, for messages (no password)
  std::chrono::milliseconds update_frequency{std::chrono::seconds(5)};  // Kong's db_update_frequency
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
};

class PgStore final : public Store {
 public:
  // Connects and checks that the schema is this build's (else the error says which
  // `portico migrations` command to run). Does not follow other nodes until follow().
  static boost::asio::awaitable<Result<std::unique_ptr<PgStore>>> open(boost::asio::io_context& io, PgOptions options);
  ~PgStore() override;

  boost::asio::awaitable<Result<Contents>> read_all() override;
  boost::asio::awaitable<Result<std::int64_t>> revision() override;
  boost::asio::awaitable<Result<std::int64_t>> apply(const Change& change, std::int64_t expected_revision) override;
  // A transaction on the commands connection that locks portico_revision's row FOR UPDATE
  // (lock_timeout 10 s; idle_in_transaction_session_timeout ends it if this node stops
  // answering while it holds it). A read or an apply inside it uses that connection; if the
  // connection breaks meanwhile, they fail rather than go on outside the transaction.
  boost::asio::awaitable<Result<std::int64_t>> begin_write() override;
  boost::asio::awaitable<Result<bool>> end_write(bool commit) override;
  void on_change(std::function<void(std::int64_t revision)> listener) override;

  // Starts the follower connection (above). Its revisions go to the on_change listeners.
  void follow();
  // The follower also writes this node's row of portico_nodes, from `report`, when it connects
  // and then at least every update_frequency (at most once a second).
  void set_heartbeat(std::function<NodeReport()> report) { heartbeat_ = std::move(report); }
  // The nodes seen in the last `within` seconds, by hostname.
  boost::asio::awaitable<Result<std::vector<NodeReport>>> nodes(std::int64_t within);
  // Whether the last operation or the follower reached the database.
  bool reachable() const override { return reachable_; }
  const PgOptions& options() const { return options_; }

 private:
  PgStore(boost::asio::io_context& io, PgOptions options, std::unique_ptr<PgConnection> commands);
  // The commands connection, connected again if it broke; an error when that fails.
  // `connect_timeout` bounds a new connection's making (at most options_.connect_timeout).
  boost::asio::awaitable<Result<PgConnection*>> commands(std::chrono::milliseconds connect_timeout = std::chrono::hours(1));
  // commands(), or inside a write its transaction's connection (an error if it broke).
  boost::asio::awaitable<Result<PgConnection*>> connection_for_statement(
      std::chrono::milliseconds connect_timeout = std::chrono::hours(1));
  boost::asio::awaitable<void> follow_loop(std::shared_ptr<bool> alive);
  // Writes heartbeat_'s row on the follower's connection; the error if that failed.
  boost::asio::awaitable<std::optional<Error>> beat(PgConnection& conn);
  void heard(std::int64_t revision);
  void note_reachable(bool reachable, const std::string& why);

  boost::asio::io_context& io_;
  PgOptions options_;
  std::unique_ptr<PgConnection> commands_;
  TurnQueue turns_;  // one command at a time on commands_
  std::vector<std::function<void(std::int64_t)>> listeners_;
  PgConnection* writing_ = nullptr;      // the connection of the write begun, if any
  std::int64_t written_revision_ = -1;   // what apply() made inside it, announced at commit
  bool reachable_ = true;
  std::string last_failure_;                              // why it is not reachable
  std::chrono::steady_clock::time_point next_connect_{};  // commands(): no attempt before, while unreachable
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // the follower stops when this goes
  std::function<NodeReport()> heartbeat_;
};

}  // namespace portico::store
