// Closes a cluster connection that stays silent: armed before each step or read, it calls the
// owner's close() unless armed again within the wait. Only the latest arming counts, and an
// owner already gone is left alone (the handler holds it weakly; the watchdog is the owner's
// member, so an owner still alive means the watchdog is too).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace portico::cluster {

class Watchdog {
 public:
  explicit Watchdog(boost::asio::any_io_executor executor) : timer_(std::move(executor)) {}

  template <typename Owner>
  void arm(const std::shared_ptr<Owner>& owner, std::chrono::steady_clock::duration wait) {
    auto armed = ++arming_;
    timer_.expires_after(wait);
    timer_.async_wait([weak = std::weak_ptr<Owner>(owner), armed, this](const boost::system::error_code& ec) {
      auto alive = weak.lock();
      if (!ec && alive && arming_ == armed) alive->close();
    });
  }
  void cancel() { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
  std::uint64_t arming_ = 0;
};

}  // namespace portico::cluster
