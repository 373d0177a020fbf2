#include "core/mailbox.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <stdexcept>

namespace portico {

Mailbox::Mailbox(boost::asio::io_context& io) : descriptor_(io) {
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) throw std::runtime_error("eventfd failed");
  descriptor_.assign(event_fd_);
}

Mailbox::~Mailbox() {
  boost::system::error_code ec;
  descriptor_.close(ec);  // closes event_fd_
}

void Mailbox::start() { receive(); }

namespace {
thread_local Mailbox* current_mailbox = nullptr;
}

Mailbox* Mailbox::current() { return current_mailbox; }
void Mailbox::make_current() { current_mailbox = this; }

void Mailbox::close() {
  boost::system::error_code ec;
  descriptor_.cancel(ec);
}

void Mailbox::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    pending_.push_back(std::move(fn));
  }
  std::uint64_t one = 1;
  // A full counter (2^64-2 pending wake-ups) cannot happen; EAGAIN would still leave a wake-up.
  [[maybe_unused]] ssize_t n = ::write(event_fd_, &one, sizeof one);
}

void Mailbox::receive() {
  descriptor_.async_read_some(boost::asio::buffer(&counter_, sizeof counter_),
                              [this](const boost::system::error_code& ec, std::size_t) {
                                if (ec == boost::asio::error::operation_aborted) return;
                                std::vector<std::function<void()>> batch;
                                {
                                  std::lock_guard lock(mu_);
                                  batch.swap(pending_);
                                }
                                for (auto& fn : batch) fn();
                                if (descriptor_.is_open()) receive();
                              });
}

}  // namespace portico
