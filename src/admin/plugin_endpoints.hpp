// The Admin API endpoints plugins declare (plugin::Schema::admin_endpoints), served without
// the Admin API knowing any plugin: a request whose path matches a declared pattern is handed
// to that plugin with its live instances from the running snapshot.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admin/exchange.hpp"
#include "config/snapshot.hpp"

namespace portico::admin {

// Whether `path` matches `pattern` ("/a/{x}/b": one segment per placeholder, which may not be
// empty; a last "{name...}" takes the rest of the path, slashes included); the placeholders'
// values, percent-decoded, in `params`.
bool match_endpoint_path(std::string_view pattern, std::string_view path, std::vector<std::string>& params);

// The answer when a plugin declares `request.path`; nullopt otherwise. 405 when the path is
// declared for other methods.
// The snapshot is held until the answer is complete (a plugin's handler may wait, on Redis).
boost::asio::awaitable<std::optional<Reply>> plugin_endpoint(const Request& request,
                                                             std::shared_ptr<const config::Snapshot> snapshot);

}  // namespace portico::admin
