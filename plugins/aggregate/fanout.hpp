// Running one request's backend calls (issue 12): every backend whose dependencies are done
// starts at once on the worker's loop, the rest as soon as theirs finish; identical calls
// (same destination, method, target, headers and body) are made once; each call has its
// deadline (the backend's timeout from when it starts, within the whole answer's).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "plugin/backend_client.hpp"
#include "plugins/aggregate/config.hpp"

namespace portico::plugin {
class RequestContext;
}

namespace portico::plugins::aggregate {

// Where a backend's calls go, derived once per snapshot.
struct Destination {
  std::size_t service = plugin::BackendRequest::kNoService;  // into the configuration's services
  std::shared_ptr<plugin::FixedDestination> fixed;             // a url backend's host
  const Template* target = nullptr;                            // origin-form template: "/users/{query.user_id}"
};

// What the client's request gives the templates, gathered before any call.
struct RequestInputs {
  std::map<std::string, std::string, std::less<>> values;  // "{query.user_id}" -> "7"
  std::string common_headers;                   // identity, X-Forwarded-*, the plugin's forward_headers
  std::vector<std::string> backend_headers;     // per backend: its own forward_headers' lines
};

// How one backend ended.
struct BackendOutcome {
  enum class State { ok, failed, timed_out };
  State state = State::failed;
  std::string error;        // failed / timed_out: for the client's message
  bool abandoned = false;   // cut short (or never started) because a required backend had failed
  boost::json::value body;  // ok: the parsed answer, before shaping (depends_on reads it)
};

// Runs the calls; the outcomes are parallel to config.backends. Returns once every started
// call has finished (each is bounded by its deadline), never earlier. Once a required backend
// has failed the answer is decided: the calls still running are cancelled and no more start.
boost::asio::awaitable<std::vector<BackendOutcome>> run_fanout(const AggregateConfig& config,
                                                               const std::vector<Destination>& destinations,
                                                               plugin::RequestContext& ctx, const RequestInputs& inputs,
                                                               std::chrono::steady_clock::time_point deadline);

}  // namespace portico::plugins::aggregate
