// Many calls the gateway makes itself, in flight at once for one request (the aggregate
// plugin's fan-out, the graphql plugin's resolvers): each starts as soon as it is added, on the
// request's worker loop; the plugin waits for them as they complete, and may cut the rest short.
//
// A group belongs to one request and must not outlive it: its owner waits for every started
// call (finish(), or next() until running() is 0) before the request's context goes away,
// since a call in flight reads the request and the strings of its BackendRequest.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>
#include <vector>

#include "plugin/backend_client.hpp"

namespace portico::plugin {

class RequestContext;

class CallGroup {
 public:
  explicit CallGroup(RequestContext& ctx, const boost::asio::any_io_executor& executor);
  ~CallGroup();
  CallGroup(const CallGroup&) = delete;
  CallGroup& operator=(const CallGroup&) = delete;

  // What a call sends: the request points into target, header_lines and body, which the
  // group keeps with it (set the request's other fields; its views are set by start()).
  struct Outgoing {
    BackendRequest request;
    std::string target;
    std::string header_lines;
    std::string body;
  };

  // Starts a call; its index (0, 1, ... in the order of start) names it.
  std::size_t start(Outgoing outgoing);

  // Waits until at least one call has completed since the last time, and returns those
  // (indices). Returns at once with what has completed already; empty when none is running.
  boost::asio::awaitable<std::vector<std::size_t>> next();
  // Waits for every started call.
  boost::asio::awaitable<void> finish();

  std::size_t running() const;
  const BackendResult& result(std::size_t index) const;
  // Whether the call was cut short by cancel_all() before it completed.
  bool cancelled(std::size_t index) const;
  // Cuts every running call short (it completes soon after with a failure); a cancelled
  // call counts neither for the target's health nor for the service's circuit breaker.
  void cancel_all();

 private:
  struct State;
  RequestContext& ctx_;
  std::shared_ptr<State> state_;
};

}  // namespace portico::plugin
