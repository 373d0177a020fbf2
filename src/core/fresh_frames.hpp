// Makes the coroutine frames created in a scope come from the heap at their exact size
// instead of Asio's per-thread recycling cache.
//
// Why: the cache hands out, first fit, blocks freed by earlier frames. A new connection's
// frames live as long as the connection; taken from the cache they occupy blocks sized for
// the largest request-path frame, and every idle keep-alive connection pays for that
// (docs/architecture.md "Memory"). The worker spawns each connection inside this scope.
//
// How: Asio allocates frames through the thread_info_base at the top of the thread's call
// stack; this pushes a separate, empty one for the scope (the scheduler's own entry stays
// below it, so "running in this thread" checks are unaffected). This relies on
// asio::detail (Boost 1.81, as pinned by scripts/setup-deps.sh); a Boost upgrade must check
// it still holds (bench/run.sh's idle-connection figure shows it).
#pragma once

#include <boost/asio/detail/call_stack.hpp>
#include <boost/asio/detail/thread_context.hpp>
#include <boost/asio/detail/thread_info_base.hpp>

namespace portico {

class FreshFrames {
 public:
  explicit FreshFrames(boost::asio::detail::thread_info_base& empty_info) : context_(nullptr, empty_info) {}
  FreshFrames(const FreshFrames&) = delete;
  FreshFrames& operator=(const FreshFrames&) = delete;

 private:
  boost::asio::detail::call_stack<boost::asio::detail::thread_context, boost::asio::detail::thread_info_base>::context
      context_;
};

}  // namespace portico
