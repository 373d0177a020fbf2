#include "plugins/openid-connect/refresh_flights.hpp"

namespace portico::plugins::openid_connect {

std::shared_ptr<RefreshFlight> RefreshFlights::join(std::string_view refresh_token, double now, bool& leader) {
  std::lock_guard lock(mu_);
  auto it = flights_.find(refresh_token);
  // A flight under way, or landed with new tokens; a failed one is not kept (the next request
  // tries again).
  if (it != flights_.end() && now - it->second->started < kKeep &&
      (!it->second->done.load(std::memory_order_acquire) || it->second->answer.ok)) {
    leader = false;
    return it->second;
  }
  if (flights_.size() >= kMaxFlights) {
    std::erase_if(flights_, [now](const auto& f) { return now - f.second->started >= kKeep; });
    if (flights_.size() >= kMaxFlights) flights_.clear();  // a flood: waiters keep their flights
  }
  auto flight = std::make_shared<RefreshFlight>();
  flight->started = now;
  flights_.insert_or_assign(std::string(refresh_token), flight);
  leader = true;
  return flight;
}

void RefreshFlights::land(RefreshFlight& flight, TokenResponse answer) {
  flight.answer = std::move(answer);
  flight.done.store(true, std::memory_order_release);
}

}  // namespace portico::plugins::openid_connect
