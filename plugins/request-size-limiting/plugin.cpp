// The request-size-limiting plugin (Kong's, priority 951): refuses request bodies larger
// than the configured size. See README.md.
//
//   access: a declared Content-Length is judged at once (the body is never read); a chunked
//           body is judged as it streams to the service: the proxy answers 413 (417 after
//           Expect: 100-continue) as soon as it passes the limit and drops the upstream
//           connection it was going to. Without a Content-Length and with
//           require_content_length, 411.
#include <cstdint>
#include <memory>

#include "http/header_view.hpp"
#include "plugin/body_access.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"

namespace portico::plugin {
namespace {

struct SizeLimitConfig : ParsedConfig {
  int allowed_payload_size = 128;
  std::string size_unit = "megabytes";
  bool require_content_length = false;
};

const ConfigSchema& config_schema() {
  using C = SizeLimitConfig;
  static const ConfigSchemaOf<C> schema(
      schema::Record<C>()
          .field("allowed_payload_size", &C::allowed_payload_size)
          .field("size_unit", &C::size_unit, {.one_of = {"megabytes", "kilobytes", "bytes"}})
          .field("require_content_length", &C::require_content_length));
  return schema;
}

constexpr std::string_view kExceeded = "Request size limit exceeded";

class RequestSizeLimiting final : public Instance {
 public:
  RequestSizeLimiting(const SizeLimitConfig& config, BuildContext&)
      : limit_(static_cast<std::int64_t>(config.allowed_payload_size) *
               (config.size_unit == "megabytes" ? 1048576 : config.size_unit == "kilobytes" ? 1024 : 1)),
        require_content_length_(config.require_content_length) {}

  Access access(RequestContext& ctx) const override {
    const http::RequestHead& request = ctx.request();
    const int status = request.expect_continue ? 417 : 413;  // Kong: 417 to a client waiting for 100 Continue
    if (request.has_content_length) {
      // The parser holds the body to its declared length: the number is the size.
      if (static_cast<std::int64_t>(request.content_length) > limit_) return refuse(ctx, status);
      return Access::next;
    }
    if (require_content_length_ && request.find("Transfer-Encoding") != "chunked") {
      ctx.reply(411, "A valid Content-Length header is required");
      return Access::replied;
    }
    if (limit_ < 0) return refuse(ctx, status);  // (Kong: a negative size refuses even an empty body)
    if (request.framing == http::BodyFraming::none) return Access::next;
    if (ctx.request_body_read()) {
      // A plugin before this one (key-auth's key_in_body) already read the body whole.
      return static_cast<std::int64_t>(ctx.request_body().size()) > limit_ ? refuse(ctx, status) : Access::next;
    }
    if (limit_ == 0) {
      // Only an empty chunked body passes: read it, refused at its first byte.
      ctx.limit_request_body(1, status, kExceeded);
      return Access::suspend;
    }
    ctx.limit_request_body(static_cast<std::uint64_t>(limit_), status, kExceeded);
    return Access::next;
  }

  boost::asio::awaitable<Access> access_async(RequestContext& ctx) const override {
    bool read = co_await read_body_or_reply(ctx);  // (GCC 12: await into a variable, not in the if)
    if (!read) co_return Access::replied;
    co_return ctx.request_body().empty() ? Access::next : refuse(ctx, ctx.request().expect_continue ? 417 : 413);
  }

 private:
  static Access refuse(RequestContext& ctx, int status) {
    ctx.reply(status, kExceeded);
    return Access::replied;
  }
  std::int64_t limit_;
  bool require_content_length_;
};

}  // namespace

const Schema& request_size_limiting_schema() {
  static const Schema schema{
      .name = "request-size-limiting",
      .priority = 951,  // Kong's
      .phases = kAccess,
      .scopes = kGlobal | kService | kRoute | kConsumer,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate_as<RequestSizeLimiting, SizeLimitConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
