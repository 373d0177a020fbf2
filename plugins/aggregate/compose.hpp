// Composing the aggregate plugin's answer (issue 12): each backend's answer shaped (select,
// allow, deny, rename, reduce) and placed under its name (or its group's key), optional
// failures left out or null, the required failure that failed on its own (not one cut short
// because of it; the first in configuration order among several) answered
// 502 (504 when it timed out) with a JSON body naming the backend.
#pragma once

#include <string>
#include <vector>

#include "plugins/aggregate/config.hpp"
#include "plugins/aggregate/fanout.hpp"

namespace portico::plugins::aggregate {

struct Composed {
  int status = 200;
  std::string body;        // JSON
  bool completed = true;   // every backend answered (X-Portico-Completed)
};

// A backend's answer shaped by its config: select, then allow, deny, rename, reduce.
boost::json::value shape_part(const BackendConfig& backend, boost::json::value body);

// `outcomes` parallel to config.backends (their bodies are moved into the answer).
Composed compose(const AggregateConfig& config, std::vector<BackendOutcome>& outcomes);

}  // namespace portico::plugins::aggregate
