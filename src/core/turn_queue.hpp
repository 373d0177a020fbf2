// One at a time, in arrival order, for coroutines on one single-threaded io_context: an
// asynchronous mutex without the locks (nothing here is thread-safe, nothing needs to be).
//
// Used by the Admin API so that a write's validation, its commit to a shared store and the
// update of the in-memory model are never interleaved with another write or with a catch-up
// from the store, although each of them suspends while the database answers.
//
//   auto turn = co_await queue.take();   // suspends while another holder has the turn
//   ...                                  // the turn passes on when `turn` is destroyed
//
// take() is handed the turn by a cancelled timer: it must not be awaited with a cancellation
// slot bound (asio's || operators, a cancel_after), or a cancellation would pass for the turn.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <memory>

namespace portico {

class TurnQueue {
  struct State {
    bool busy = false;
    std::deque<std::shared_ptr<boost::asio::steady_timer>> waiting;
  };

 public:
  class Turn {
   public:
    explicit Turn(std::weak_ptr<State> state) : state_(std::move(state)) {}
    Turn(Turn&& other) noexcept = default;
    Turn& operator=(Turn&&) = delete;
    Turn(const Turn&) = delete;
    // Safe after the queue is gone (a coroutine frame destroyed with its io_context).
    ~Turn() {
      if (auto state = state_.lock()) pass_on(*state);
    }

   private:
    std::weak_ptr<State> state_;
  };

  boost::asio::awaitable<Turn> take() {
    if (!state_->busy) {
      state_->busy = true;
      co_return Turn(state_);
    }
    auto executor = co_await boost::asio::this_coro::executor;
    auto waiter = std::make_shared<boost::asio::steady_timer>(executor, boost::asio::steady_timer::time_point::max());
    state_->waiting.push_back(waiter);
    // pass_on() cancels this timer to hand the turn over (busy stays true).
    auto [ignored] = co_await waiter->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    (void)ignored;
    co_return Turn(state_);
  }

  bool busy() const { return state_->busy; }

 private:
  static void pass_on(State& state) {
    // A waiter whose coroutine frame is gone (destroyed with its io_context) holds no
    // reference to its timer any more: skip it rather than hand the turn to no one.
    while (!state.waiting.empty()) {
      auto next = std::move(state.waiting.front());
      state.waiting.pop_front();
      if (next.use_count() > 1) {
        next->cancel();
        return;
      }
    }
    state.busy = false;
  }

  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace portico
