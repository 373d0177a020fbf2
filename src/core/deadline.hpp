// Socket deadlines, kept per thread in one queue driven by one timer (as nginx does),
// instead of one Asio timer per socket.
//
// Deadlines with the same timeout are appended to that timeout's FIFO list, so each list
// stays sorted by expiry and arming is O(1) (unlink + append). The queue's driver wakes
// up at the earliest expiry of all lists, cancels the sockets whose deadline passed and
// marks them expired; the coroutine awaiting that socket sees operation_aborted and
// reports a timeout. An idle connection costs one list node, no timer and no pending op.
//
// Threading: a queue and its Deadlines belong to one thread (one io_context).
// Lifetime: the queue must outlive its Deadlines; declare it before the io_context
// whose pending coroutines own Deadlines, so it is destroyed after them.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

namespace portico {

struct DeadlineBucket;

class DeadlineQueue {
 public:
  using Clock = std::chrono::steady_clock;

  struct Entry {
    Entry* prev = nullptr;
    Entry* next = nullptr;
    DeadlineBucket* bucket = nullptr;  // non-null while armed
    Clock::time_point expiry{};
    boost::asio::ip::tcp::socket* socket = nullptr;
    // Instead of a socket: called on expiry (an HTTP/2 stream wakes its waiting reader/writer).
    void (*wake)(void*) = nullptr;
    void* wake_target = nullptr;
    bool expired = false;
  };

  DeadlineQueue() = default;
  DeadlineQueue(const DeadlineQueue&) = delete;
  DeadlineQueue& operator=(const DeadlineQueue&) = delete;

  // Called with the new earliest expiry whenever it moves earlier than before.
  void set_waker(std::function<void(Clock::time_point)> waker) { waker_ = std::move(waker); }

  void arm(Entry& e, std::chrono::milliseconds timeout);
  // Arms `e` to expire at `until`, but within `longest` from now at most. The time left is
  // rounded up to a sixteenth of `longest`, so deadlines with an absolute end (a whole request
  // head, a body at a minimum rate) share at most 17 lists per `longest` instead of one each:
  // they expire up to longest/16 late.
  void arm_by(Entry& e, Clock::time_point until, std::chrono::milliseconds longest);
  void disarm(Entry& e);
  // Expires every entry due at `now` (cancelling its socket). Returns the next expiry,
  // or time_point::max() when nothing is armed.
  Clock::time_point expire(Clock::time_point now);
  std::size_t armed() const { return armed_; }

 private:
  std::vector<std::unique_ptr<DeadlineBucket>> buckets_;
  std::function<void(Clock::time_point)> waker_;
  std::size_t armed_ = 0;
};

// The armed entries sharing one timeout, oldest (earliest expiry) first.
struct DeadlineBucket {
  std::chrono::milliseconds timeout{0};
  DeadlineQueue::Entry* head = nullptr;
  DeadlineQueue::Entry* tail = nullptr;
};

// Drives a DeadlineQueue with one steady_timer on an io_context.
class DeadlineDriver {
 public:
  DeadlineDriver(boost::asio::io_context& io, DeadlineQueue& queue);
  ~DeadlineDriver();
  // Cancels the pending wake-up (used when a drained worker winds down).
  void stop();
  DeadlineDriver(const DeadlineDriver&) = delete;
  DeadlineDriver& operator=(const DeadlineDriver&) = delete;

 private:
  void wake_at(DeadlineQueue::Clock::time_point t);
  DeadlineQueue& queue_;
  boost::asio::steady_timer timer_;
  DeadlineQueue::Clock::time_point scheduled_ = DeadlineQueue::Clock::time_point::max();
  std::uint64_t generation_ = 0;
};

// One socket's deadline. Arming replaces the previous deadline.
class Deadline {
 public:
  Deadline(DeadlineQueue& queue, boost::asio::ip::tcp::socket* socket) : queue_(&queue) { entry_.socket = socket; }
  ~Deadline() { queue_->disarm(entry_); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // On expiry, call `wake(target)` instead of cancelling a socket (for a transport that is
  // not a socket: proxy/h2_stream.hpp).
  void wake_instead(void (*wake)(void*), void* target) {
    entry_.socket = nullptr;
    entry_.wake = wake;
    entry_.wake_target = target;
  }

  void arm(std::chrono::milliseconds timeout) { queue_->arm(entry_, timeout); }
  void arm_by(DeadlineQueue::Clock::time_point until, std::chrono::milliseconds longest) {
    queue_->arm_by(entry_, until, longest);
  }
  void disarm() { queue_->disarm(entry_); }
  // True once the deadline passed while armed; cleared by arm().
  bool expired() const { return entry_.expired; }

 private:
  DeadlineQueue* queue_;
  DeadlineQueue::Entry entry_;
};

}  // namespace portico
