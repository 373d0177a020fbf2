#include "core/deadline.hpp"

namespace portico {

Deadline::Deadline(const boost::asio::any_io_executor& executor, boost::asio::ip::tcp::socket* socket)
    : state_(std::make_shared<State>(executor, socket)) {}

Deadline::~Deadline() {
  state_->socket = nullptr;
  state_->deadline = Clock::time_point::max();
  if (state_->waiting) state_->timer.cancel();
}

void Deadline::arm(std::chrono::milliseconds timeout) {
  state_->expired = false;
  state_->deadline = Clock::now() + timeout;
  if (!state_->waiting) {
    schedule(state_);
  } else if (state_->deadline < state_->scheduled) {
    // Earlier than the pending wake-up: the pending wait is cancelled and its handler
    // re-schedules for the new deadline.
    state_->timer.cancel();
  }
}

void Deadline::disarm() { state_->deadline = Clock::time_point::max(); }

void Deadline::schedule(const std::shared_ptr<State>& state) {
  state->waiting = true;
  state->scheduled = state->deadline;
  state->timer.expires_at(state->deadline);
  state->timer.async_wait([state](const boost::system::error_code&) {
    state->waiting = false;
    if (state->socket == nullptr || state->deadline == Clock::time_point::max()) return;
    if (Clock::now() >= state->deadline) {
      state->expired = true;
      state->deadline = Clock::time_point::max();
      boost::system::error_code ignored;
      state->socket->cancel(ignored);
      return;
    }
    schedule(state);
  });
}

}  // namespace portico
