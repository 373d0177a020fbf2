#include "plugin/body_access.hpp"

#include "plugin/request_context.hpp"

namespace portico::plugin {

boost::asio::awaitable<bool> read_body_or_reply(RequestContext& ctx) {
  // (Awaited into a variable: GCC 12 miscompiles co_await inside an if condition.)
  bool read = co_await ctx.read_request_body();
  if (!read) ctx.reply(ctx.body_error_status(), ctx.body_error());
  co_return read;
}

}  // namespace portico::plugin
