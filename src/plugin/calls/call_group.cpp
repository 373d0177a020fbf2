#include "plugin/calls/call_group.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

#include "plugin/request_context.hpp"

namespace portico::plugin {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// What the calls' completion handlers share with the waiting plugin (they may complete after
// the plugin stopped looking, so it is shared, not owned by the group).
struct CallGroup::State {
  explicit State(const asio::any_io_executor& executor) : executor(executor), event(executor, Clock::time_point::max()) {}
  struct Call {
    Outgoing outgoing;
    BackendResult result;
    bool done = false;
    bool cancelled = false;
    std::unique_ptr<asio::cancellation_signal> cancel = std::make_unique<asio::cancellation_signal>();
  };
  asio::any_io_executor executor;
  std::vector<std::unique_ptr<Call>> calls;  // stable addresses: requests point into them
  std::vector<std::size_t> completed;        // completed since the plugin last looked
  std::size_t running = 0;
  asio::steady_timer event;                  // cancelled to wake the plugin
};

CallGroup::CallGroup(RequestContext& ctx, const asio::any_io_executor& executor)
    : ctx_(ctx), state_(std::make_shared<State>(executor)) {}

CallGroup::~CallGroup() = default;

std::size_t CallGroup::start(Outgoing outgoing) {
  auto call = std::make_unique<State::Call>();
  call->outgoing = std::move(outgoing);
  BackendRequest& request = call->outgoing.request;
  request.target = call->outgoing.target;
  request.header_lines = call->outgoing.header_lines;
  request.body = call->outgoing.body;
  const std::size_t index = state_->calls.size();
  auto slot = call->cancel->slot();
  state_->calls.push_back(std::move(call));
  ++state_->running;
  asio::co_spawn(state_->executor, ctx_.backend_client()->call(ctx_, state_->calls[index]->outgoing.request),
                 asio::bind_cancellation_slot(slot, [state = state_, index](std::exception_ptr error, BackendResult result) {
                   State::Call& c = *state->calls[index];
                   if (error) {
                     result = BackendResult{};
                     result.error = "failed inside the gateway";
                   }
                   c.result = std::move(result);
                   c.done = true;
                   --state->running;
                   state->completed.push_back(index);
                   state->event.cancel();
                 }));
  return index;
}

asio::awaitable<std::vector<std::size_t>> CallGroup::next() {
  if (state_->completed.empty() && state_->running > 0) {
    state_->event.expires_at(Clock::time_point::max());
    co_await state_->event.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  std::vector<std::size_t> completed;
  completed.swap(state_->completed);
  co_return completed;
}

asio::awaitable<void> CallGroup::finish() {
  while (state_->running > 0) {
    std::vector<std::size_t> ignored = co_await next();
  }
  state_->completed.clear();
}

std::size_t CallGroup::running() const { return state_->running; }

const BackendResult& CallGroup::result(std::size_t index) const { return state_->calls[index]->result; }

bool CallGroup::cancelled(std::size_t index) const { return state_->calls[index]->cancelled; }

void CallGroup::cancel_all() {
  for (auto& call : state_->calls) {
    if (call->done || call->cancelled) continue;
    call->cancelled = true;
    call->cancel->emit(asio::cancellation_type::terminal);
  }
}

}  // namespace portico::plugin
