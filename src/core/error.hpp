// Error values and Result<T>: how Portico reports anything that can fail on input.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace portico {

// Who caused a failure: the client, the upstream service, or Portico itself.
enum class ErrorOrigin { downstream, upstream, internal };

enum class ErrorKind {
  bad_request,       // malformed or ambiguous client input
  too_large,         // a limit was exceeded
  not_found,         // nothing matched
  timeout,           // a deadline passed
  connect_failed,    // the upstream could not be reached
  upstream_broken,   // the upstream closed or sent something malformed
  config,            // configuration is invalid
  conflict,          // a unique field (name, id) is already taken
  outdated,          // prepared against a state that has changed since (read again, retry)
  unavailable,       // a store or resource cannot be used (locked, newer schema, I/O)
  internal,          // a bug or resource exhaustion
};

// An error carries what went wrong, who caused it, whether retrying elsewhere is safe,
// and the HTTP status it maps to when answered to a client.
struct Error {
  ErrorKind kind = ErrorKind::internal;
  ErrorOrigin origin = ErrorOrigin::internal;
  int status = 500;
  bool retryable = false;
  std::string message;
};

// Minimal expected-style result (std::expected is C++23).
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}    // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace portico
