#include "core/deadline.hpp"

#include <algorithm>

namespace portico {

void DeadlineQueue::arm(Entry& e, std::chrono::milliseconds timeout) {
  disarm(e);
  e.expired = false;
  DeadlineBucket* bucket = nullptr;
  for (auto& b : buckets_) {
    if (b->timeout == timeout) {
      bucket = b.get();
      break;
    }
  }
  if (bucket == nullptr) {
    buckets_.push_back(std::make_unique<DeadlineBucket>());
    bucket = buckets_.back().get();
    bucket->timeout = timeout;
  }
  e.expiry = Clock::now() + timeout;
  e.bucket = bucket;
  e.prev = bucket->tail;
  e.next = nullptr;
  bool was_empty = bucket->head == nullptr;
  if (bucket->tail != nullptr) bucket->tail->next = &e;
  else bucket->head = &e;
  bucket->tail = &e;
  ++armed_;
  // A non-empty list already has an earlier head the driver is scheduled for.
  if (was_empty && waker_) waker_(e.expiry);
}

void DeadlineQueue::arm_by(Entry& e, Clock::time_point until, std::chrono::milliseconds longest) {
  using std::chrono::milliseconds;
  const milliseconds left = std::chrono::ceil<milliseconds>(until - Clock::now());
  if (left >= longest) return arm(e, longest);
  const milliseconds step = std::max(longest / 16, milliseconds(1));
  const auto steps = left.count() <= 0 ? 1 : (left.count() + step.count() - 1) / step.count();
  arm(e, std::min(step * steps, longest));
}

void DeadlineQueue::disarm(Entry& e) {
  DeadlineBucket* b = e.bucket;
  if (b == nullptr) return;
  if (e.prev != nullptr) e.prev->next = e.next;
  else b->head = e.next;
  if (e.next != nullptr) e.next->prev = e.prev;
  else b->tail = e.prev;
  e.prev = e.next = nullptr;
  e.bucket = nullptr;
  --armed_;
}

DeadlineQueue::Clock::time_point DeadlineQueue::expire(Clock::time_point now) {
  auto next = Clock::time_point::max();
  for (auto& b : buckets_) {
    while (b->head != nullptr && b->head->expiry <= now) {
      Entry* e = b->head;
      disarm(*e);
      e->expired = true;
      if (e->socket != nullptr) {
        boost::system::error_code ignored;
        e->socket->cancel(ignored);
      } else if (e->wake != nullptr) {
        e->wake(e->wake_target);
      }
    }
    if (b->head != nullptr && b->head->expiry < next) next = b->head->expiry;
  }
  return next;
}

DeadlineDriver::DeadlineDriver(boost::asio::io_context& io, DeadlineQueue& queue) : queue_(queue), timer_(io) {
  queue_.set_waker([this](DeadlineQueue::Clock::time_point t) { wake_at(t); });
}

DeadlineDriver::~DeadlineDriver() { queue_.set_waker(nullptr); }

void DeadlineDriver::stop() {
  ++generation_;
  scheduled_ = DeadlineQueue::Clock::time_point::max();
  timer_.cancel();
}

void DeadlineDriver::wake_at(DeadlineQueue::Clock::time_point t) {
  if (t >= scheduled_) return;
  scheduled_ = t;
  std::uint64_t generation = ++generation_;
  timer_.expires_at(t);  // cancels a later pending wait, whose handler then sees a stale generation
  timer_.async_wait([this, generation](const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted || generation != generation_) return;
    scheduled_ = DeadlineQueue::Clock::time_point::max();
    auto next = queue_.expire(DeadlineQueue::Clock::now());
    if (next != DeadlineQueue::Clock::time_point::max()) wake_at(next);
  });
}

}  // namespace portico
