// A request waiting on its own worker's event loop until another request, possibly on
// another worker, wakes it (a throttling slot handed over, a cache entry filled).
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "core/mailbox.hpp"

namespace portico::plugin {

// The request waits on `timer` (a deadline it sets); wake() cancels the wait. Fields the
// waker sets (`granted`) are written under the lock of whatever structure queues waiters.
struct Waiter {
  // `mailbox`: the waiting request's worker's (Mailbox::current()), through which another
  // worker wakes it (workers' loops take no post from other threads).
  Waiter(const boost::asio::any_io_executor& executor, Mailbox& mailbox) : timer(executor), mailbox(mailbox) {}
  boost::asio::steady_timer timer;
  Mailbox& mailbox;
  bool granted = false;

  // Thread-safe: the waiter's own loop cancels its timer.
  static void wake(const std::shared_ptr<Waiter>& waiter) {
    waiter->mailbox.post([waiter] { waiter->timer.cancel(); });
  }
};

}  // namespace portico::plugin
