// The proxy's implementation of plugin::BackendClient (plugin/backend_client.hpp): one call
// the gateway makes itself, to a service (balancer, retries, timeouts, limits, passive health,
// the service's upstream guards) or to a fixed destination, with the answer read whole.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "config/snapshot.hpp"
#include "plugin/backend_client.hpp"

namespace portico {
class Worker;
}

namespace portico::proxy {

// Runs on the worker's loop; many may run at once. `snapshot` is the one `parent` is served
// with. Never throws: every failure is a result.
boost::asio::awaitable<plugin::BackendResult> call_backend(Worker& worker, const config::Snapshot& snapshot,
                                                           const plugin::RequestContext& parent,
                                                           const plugin::BackendRequest& request);

}  // namespace portico::proxy
