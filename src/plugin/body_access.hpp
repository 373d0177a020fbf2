// Reading the request body from a plugin's access_async phase.
#pragma once

#include <boost/asio/awaitable.hpp>

namespace portico::plugin {

class RequestContext;

// Reads the whole request body (ctx.read_request_body()). When it cannot be read (too large,
// malformed, too slow), answers the client with why (ctx.body_error_status(), body_error())
// and returns false: the plugin then returns Access::replied.
boost::asio::awaitable<bool> read_body_or_reply(RequestContext& ctx);

}  // namespace portico::plugin
