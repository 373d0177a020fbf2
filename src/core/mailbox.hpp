// Cross-thread messages into a single-threaded io_context.
//
// Workers run their io_context with BOOST_ASIO_CONCURRENCY_HINT_UNSAFE (no locking in
// Asio's scheduler or reactor), so no other thread may touch it, not even asio::post.
// Other threads (the control thread) send work through a Mailbox instead: a mutex-
// protected queue plus an eventfd that wakes the owning thread, which runs the queued
// functions in order. The control plane uses it (reloads, drain, stop), and plugins whose
// state spans workers wake a request waiting on another worker through it (a throttling
// slot handed over), found with Mailbox::current() on the waiting request's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace portico {

class Mailbox {
 public:
  // Creates the eventfd and registers it with `io`. Call before the owning thread runs.
  explicit Mailbox(boost::asio::io_context& io);
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Starts receiving (on the owning thread, or before it runs).
  void start();
  // Thread-safe: queues `fn` to run on the owning thread.
  void post(std::function<void()> fn);
  // Stops receiving (owning thread).
  void close();

  // The mailbox of the worker running on this thread (null on other threads).
  static Mailbox* current();
  void make_current();  // on the owning thread
  // The owning thread's loop, for work a request starts and leaves running (on that thread).
  boost::asio::any_io_executor executor() { return descriptor_.get_executor(); }

 private:
  void receive();

  std::mutex mu_;
  std::vector<std::function<void()>> pending_;
  int event_fd_ = -1;
  boost::asio::posix::stream_descriptor descriptor_;
  std::uint64_t counter_ = 0;
};

}  // namespace portico
