#include "store/pg_connection.hpp"

#include <libpq-fe.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>

namespace portico::store {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

namespace {

Error unavailable(std::string message) {
  return Error{ErrorKind::unavailable, ErrorOrigin::internal, 503, true, std::move(message)};
}

// libpq's messages end with a newline (and may hold several lines).
std::string trimmed(const char* text) {
  std::string s = text == nullptr ? "" : text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (auto& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

ErrorKind kind_of(const std::string& sqlstate) {
  if (sqlstate == "40001" || sqlstate == "40P01") return ErrorKind::outdated;  // serialization failure, deadlock: again
  if (sqlstate == "23505") return ErrorKind::conflict;                         // unique_violation
  if (sqlstate.starts_with("08") || sqlstate.starts_with("57") || sqlstate.starts_with("53") ||
      sqlstate == "25006" || sqlstate == "55P03") {
    // Connection exceptions, operator intervention (shutdown, statement timeout), resources,
    // a read-only server (a demoted primary: connect again, maybe to the new one), a lock
    // not obtained within lock_timeout.
    return ErrorKind::unavailable;
  }
  return ErrorKind::internal;
}

}  // namespace

// --- PgRows ---

PgRows::PgRows(pg_result* result) : result_(result) {}
PgRows::~PgRows() {
  if (result_ != nullptr) PQclear(result_);
}
PgRows::PgRows(PgRows&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
int PgRows::rows() const { return result_ == nullptr ? 0 : PQntuples(result_); }
bool PgRows::is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
std::string PgRows::text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column), static_cast<std::size_t>(PQgetlength(result_, row, column)));
}
std::int64_t PgRows::integer(int row, int column) const { return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10); }

// --- PgConnection ---

PgConnection::PgConnection(asio::io_context& io, pg_conn* conn) : io_(io), conn_(conn), socket_(io) {}

PgConnection::~PgConnection() {
  boost::system::error_code ec;
  if (socket_.is_open()) socket_.release();  // libpq closes its socket itself
  PQfinish(conn_);
}

int PgConnection::backend_pid() const { return PQbackendPID(conn_); }

bool PgConnection::still_open() {
  // Reads what waits without blocking: a server that ended the session (shut down, killed
  // the backend) has sent its goodbye and closed, which shows here before a query is sent.
  if (broken_ || PQconsumeInput(conn_) == 0 || PQstatus(conn_) == CONNECTION_BAD) broken_ = true;
  return !broken_;
}

Error PgConnection::failure(const std::string& what) {
  broken_ = true;
  return unavailable(what + ": " + trimmed(PQerrorMessage(conn_)));
}

asio::awaitable<Result<std::unique_ptr<PgConnection>>> PgConnection::connect(asio::io_context& io,
                                                                             const std::string& conninfo,
                                                                             std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  // Portico's defaults first: what the connection string says overrides them. Keepalives find
  // a dead peer in ~20 s; the server gives up a statement (or a lock wait) before Portico's
  // own deadline, so a write Portico stopped waiting for is not committed later.
  const char* keywords[] = {"application_name", "keepalives_idle", "keepalives_interval", "keepalives_count",
                            "options", "dbname", nullptr};
  const char* values[] = {"portico", "10", "3", "3", "-c statement_timeout=20000 -c lock_timeout=10000 -c idle_in_transaction_session_timeout=15000",
                          conninfo.c_str(), nullptr};
  // expand_dbname: "dbname" is a whole connection string or URI.
  pg_conn* raw = PQconnectStartParams(keywords, values, 1);
  if (raw == nullptr) co_return unavailable("cannot connect to PostgreSQL: out of memory");
  std::unique_ptr<PgConnection> conn(new PgConnection(io, raw));
  if (PQstatus(raw) == CONNECTION_BAD) co_return conn->failure("cannot connect to PostgreSQL");
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) co_return conn->failure("cannot connect to PostgreSQL");
    // libpq may close its socket and open another between two polls (the next address, SSL
    // refused then plain): the new one often gets the same number, and the closed one left
    // epoll. Registered again each time.
    if (conn->socket_.is_open()) conn->socket_.release();
    boost::system::error_code ec;
    conn->socket_.assign(PQsocket(raw), ec);
    if (ec) co_return unavailable("cannot connect to PostgreSQL: " + ec.message());
    bool ready = co_await conn->wait(state == PGRES_POLLING_WRITING, deadline);
    if (!ready) co_return unavailable("cannot connect to PostgreSQL: no answer within " + std::to_string(timeout.count()) + " ms");
    state = PQconnectPoll(raw);
  }
  if (PQsetnonblocking(raw, 1) != 0) co_return conn->failure("cannot use the PostgreSQL connection");
  co_return conn;
}

asio::awaitable<bool> PgConnection::wait(bool for_write, Clock::time_point deadline) {
  if (Clock::now() >= deadline) {
    broken_ = true;
    co_return false;
  }
  asio::steady_timer timer(io_, deadline);
  auto kind = for_write ? asio::posix::stream_descriptor::wait_write : asio::posix::stream_descriptor::wait_read;
  auto first = co_await (socket_.async_wait(kind, asio::as_tuple(asio::use_awaitable)) ||
                         timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (first.index() == 1 || std::get<0>(std::get<0>(first))) {
    broken_ = true;
    co_return false;
  }
  co_return true;
}

bool PgConnection::consume() {
  if (PQconsumeInput(conn_) == 0) return false;
  while (PGnotify* n = PQnotifies(conn_)) {
    received_.push_back({n->relname, n->extra});
    PQfreemem(n);
  }
  return true;
}

asio::awaitable<Result<PgRows>> PgConnection::query(std::string sql, std::chrono::milliseconds timeout) {
  std::vector<Param> none;
  co_return co_await query_params(std::move(sql), std::move(none), timeout);
}

asio::awaitable<Result<PgRows>> PgConnection::query_params(std::string sql, std::vector<Param> params,
                                                           std::chrono::milliseconds timeout) {
  if (broken_) co_return unavailable("the PostgreSQL connection is broken");
  auto deadline = Clock::now() + timeout;
  int sent = 0;
  if (params.empty()) {
    sent = PQsendQuery(conn_, sql.c_str());
  } else {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    sent = PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                             nullptr, 0);
  }
  if (sent == 0) co_return failure("PostgreSQL");
  // From here the statement may run on the server even if its answer never arrives: a
  // failure says so with retryable false (what it did is not known).
  auto unknown = [](Error e) {
    e.retryable = false;
    return e;
  };
  for (;;) {
    int flushed = PQflush(conn_);
    if (flushed == 0) break;
    if (flushed < 0) co_return failure("PostgreSQL");
    bool ready = co_await wait(true, deadline);
    if (!ready) co_return unknown(unavailable("PostgreSQL did not take the query within " + std::to_string(timeout.count()) + " ms"));
    if (!consume()) co_return unknown(failure("PostgreSQL"));  // the server may answer while we send
  }
  std::optional<PgRows> last;
  std::optional<Error> error;
  for (;;) {
    while (PQisBusy(conn_)) {
      bool ready = co_await wait(false, deadline);
      if (!ready) co_return unknown(unavailable("PostgreSQL did not answer within " + std::to_string(timeout.count()) + " ms"));
      if (!consume()) co_return unknown(failure("PostgreSQL"));
    }
    PGresult* result = PQgetResult(conn_);
    if (result == nullptr) break;
    auto status = PQresultStatus(result);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      last.emplace(result);
      continue;
    }
    if (!error) {
      const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      std::string sqlstate = state == nullptr ? "" : state;
      ErrorKind kind = PQstatus(conn_) == CONNECTION_BAD ? ErrorKind::unavailable : kind_of(sqlstate);
      if (sqlstate == "25006") broken_ = true;  // a read-only server: a new connection may find the primary
      int code = kind == ErrorKind::unavailable ? 503 : kind == ErrorKind::internal ? 500 : 409;
      std::string message = trimmed(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
      if (message.empty()) message = trimmed(PQresultErrorMessage(result));
      error = Error{kind, ErrorOrigin::internal, code, kind == ErrorKind::unavailable, message};
    }
    PQclear(result);
  }
  if (PQstatus(conn_) == CONNECTION_BAD) broken_ = true;
  if (error) {
    // An error the server reported ended the statement (nothing took effect), unless the
    // connection broke: then the commit's answer may be what was lost.
    if (broken_ && error->kind == ErrorKind::unavailable) co_return unknown(*error);
    co_return *error;
  }
  if (!last) co_return unknown(failure("PostgreSQL answered nothing"));
  co_return std::move(*last);
}

asio::awaitable<Result<std::vector<PgNotification>>> PgConnection::notifications(std::chrono::milliseconds timeout) {
  if (broken_) co_return unavailable("the PostgreSQL connection is broken");
  auto deadline = Clock::now() + timeout;
  if (!consume() || PQstatus(conn_) == CONNECTION_BAD) co_return failure("PostgreSQL closed the connection");
  while (received_.empty() && Clock::now() < deadline) {
    asio::steady_timer timer(io_, deadline);
    auto first = co_await (socket_.async_wait(asio::posix::stream_descriptor::wait_read, asio::as_tuple(asio::use_awaitable)) ||
                           timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (first.index() == 1) break;  // the time is up: no notification
    if (std::get<0>(std::get<0>(first))) co_return failure("PostgreSQL");
    // A server that shut down answers with an error and closes: the socket stays readable.
    if (!consume() || PQstatus(conn_) == CONNECTION_BAD) co_return failure("PostgreSQL closed the connection");
  }
  std::vector<PgNotification> out;
  out.swap(received_);
  co_return out;
}

}  // namespace portico::store
