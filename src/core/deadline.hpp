// A cheap, re-armable deadline for one socket.
//
// Arming only stores a time point; the underlying timer is re-scheduled lazily (only
// when the new deadline is earlier than the pending wake-up), so per-operation timeouts
// cost a clock read instead of a timer cancel + wait. When the deadline passes, the
// socket's pending operations are cancelled and `expired()` turns true, so the awaiting
// coroutine sees operation_aborted and reports a timeout.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

namespace portico {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  Deadline(const boost::asio::any_io_executor& executor, boost::asio::ip::tcp::socket* socket);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // Sets the deadline `timeout` from now (replacing any earlier one).
  void arm(std::chrono::milliseconds timeout);
  // No deadline until the next arm().
  void disarm();
  // True once the deadline passed while armed; cleared by arm().
  bool expired() const { return state_->expired; }

 private:
  struct State {
    boost::asio::steady_timer timer;
    boost::asio::ip::tcp::socket* socket;
    Clock::time_point deadline = Clock::time_point::max();
    Clock::time_point scheduled = Clock::time_point::max();
    bool waiting = false;
    bool expired = false;
    State(const boost::asio::any_io_executor& ex, boost::asio::ip::tcp::socket* s) : timer(ex), socket(s) {}
  };
  static void schedule(const std::shared_ptr<State>& state);

  std::shared_ptr<State> state_;
};

}  // namespace portico
