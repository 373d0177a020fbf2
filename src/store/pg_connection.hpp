// One PostgreSQL connection (libpq, Debian's libpq5) driven by an Asio io_context: connecting,
// queries and LISTEN notifications never block the thread, they suspend the coroutine until
// the socket is ready. Every operation has a deadline; a connection that missed one, or whose
// socket failed, is broken() and must be dropped (a new one connected).
//
// libpq resolves a host name inside PQconnectStart with getaddrinfo(), which blocks: give an
// address or a name /etc/hosts answers (localhost) where that matters.
//
// Threading: one io_context's thread; one operation at a time per connection (the caller
// serializes them).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "core/error.hpp"

struct pg_conn;
struct pg_result;

namespace portico::store {

// Rows of a query's answer, as text (NULL as nullopt).
class PgRows {
 public:
  explicit PgRows(pg_result* result);
  ~PgRows();
  PgRows(PgRows&& other) noexcept;
  PgRows& operator=(PgRows&&) = delete;
  PgRows(const PgRows&) = delete;

  int rows() const;
  bool is_null(int row, int column) const;
  std::string text(int row, int column) const;
  std::int64_t integer(int row, int column) const;

 private:
  pg_result* result_;
};

// What a NOTIFY delivered.
struct PgNotification {
  std::string channel;
  std::string payload;
};

class PgConnection {
 public:
  using Param = std::optional<std::string>;  // nullopt: SQL NULL

  // Connects to `conninfo` (a postgres:// URI or libpq's key=value string) within `timeout`.
  // Errors of kind unavailable carry libpq's reason (refused, authentication, no database).
  static boost::asio::awaitable<Result<std::unique_ptr<PgConnection>>> connect(boost::asio::io_context& io,
                                                                               const std::string& conninfo,
                                                                               std::chrono::milliseconds timeout);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement with text parameters ($1, $2...). Several statements separated by
  // semicolons are allowed without parameters (the last one's rows are answered). Errors:
  // the server's SQLSTATE mapped to a kind (40001 outdated, 23505 conflict, anything about
  // the connection unavailable, other statement errors internal), with its message. An error
  // with retryable false came after the statement was sent: whether it took effect is not
  // known (the connection broke, or no answer came in time).
  boost::asio::awaitable<Result<PgRows>> query(std::string sql, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  boost::asio::awaitable<Result<PgRows>> query_params(std::string sql, std::vector<Param> params,
                                                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Notifications of channels this connection LISTENs to: those already received, else
  // the first to arrive within `timeout` (none: an empty list). An error when the connection
  // broke.
  boost::asio::awaitable<Result<std::vector<PgNotification>>> notifications(std::chrono::milliseconds timeout);

  bool broken() const { return broken_; }
  // False (and broken from then on) when the server closed the connection while it was idle.
  bool still_open();
  // The server's process id for this session (pg_stat_activity.pid).
  int backend_pid() const;

 private:
  PgConnection(boost::asio::io_context& io, pg_conn* conn);
  // Waits until the socket can be read (or written) or the deadline passes: false on the
  // deadline or a socket error (the connection is then broken).
  boost::asio::awaitable<bool> wait(bool for_write, std::chrono::steady_clock::time_point deadline);
  // Reads what arrived and queues notifications; false when the connection failed.
  bool consume();
  Error failure(const std::string& what);

  boost::asio::io_context& io_;
  pg_conn* conn_;
  boost::asio::posix::stream_descriptor socket_;  // libpq's socket, not owned (released, never closed)
  std::vector<PgNotification> received_;
  bool broken_ = false;
};

}  // namespace portico::store
