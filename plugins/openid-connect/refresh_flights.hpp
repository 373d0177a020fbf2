// One refresh per refresh token at a time, shared by every worker (README.md, "Refresh").
//
// Providers rotate refresh tokens (a refresh answers a new one and retires the old), and many
// treat a retired token presented again as theft and revoke the whole grant (RFC 9700 4.14.2).
// A browser sends several requests at once with the same session cookie; if each refreshed on
// its own, the second would present the retired token and end the user's session. So the
// first request with a refresh token due makes the call (the leader) and the others with the
// same token wait for its answer and use it; the answer is kept a short while for requests
// still carrying the old cookie.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "plugin/string_map.hpp"
#include "plugins/openid-connect/token_client.hpp"

namespace portico::plugins::openid_connect {

struct RefreshFlight {
  std::atomic<bool> done{false};
  TokenResponse answer;  // written by the leader before `done`
  double started = 0;
};

class RefreshFlights {
 public:
  // The flight for `refresh_token`: `leader` is true when the caller must make the call and
  // land() it; else it waits for done (an older flight's answer may be there already).
  std::shared_ptr<RefreshFlight> join(std::string_view refresh_token, double now, bool& leader);
  // The leader's answer, for itself and every waiter.
  static void land(RefreshFlight& flight, TokenResponse answer);

  // The leader's duty to land: a failure when it is destroyed without having landed.
  class Landing {
   public:
    explicit Landing(std::shared_ptr<RefreshFlight> flight) : flight_(std::move(flight)) {}
    Landing(const Landing&) = delete;
    Landing& operator=(const Landing&) = delete;
    ~Landing() {
      if (flight_ && !flight_->done.load(std::memory_order_acquire)) {
        TokenResponse failed;
        failed.error = "the refresh did not complete";
        RefreshFlights::land(*flight_, std::move(failed));
      }
    }
    void land(TokenResponse answer) { RefreshFlights::land(*flight_, std::move(answer)); }

   private:
    std::shared_ptr<RefreshFlight> flight_;
  };

 private:
  static constexpr double kKeep = 30;          // seconds an answer serves late requests
  static constexpr std::size_t kMaxFlights = 10000;
  std::mutex mu_;
  plugin::StringMap<std::shared_ptr<RefreshFlight>> flights_;
};

}  // namespace portico::plugins::openid_connect
