#include "plugin/test_plugins.hpp"

#include <deque>

#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"

namespace portico::plugin::testing {
namespace {

// One trace per request, in a slot owned by this sentinel.
struct TraceOwner final : Instance {};
const TraceOwner g_trace_owner;
struct Trace {
  const char* data;
  std::size_t size;
};

void append_trace(RequestContext& ctx, std::string_view tag) {
  auto& t = ctx.state<Trace>(g_trace_owner);
  std::string_view before(t.data == nullptr ? "" : t.data, t.size);
  auto now = before.empty() ? ctx.store(tag) : ctx.concat({before, ",", tag});
  t.data = now.data();
  t.size = now.size();
}

class NoopInstance final : public Instance {
 public:
  NoopInstance(const NoopConfig& c, BuildContext& build) : config_(c) {
    for (const auto& consumer : build.config.consumers) {
      if (!c.authenticate.empty() && consumer.username == c.authenticate) consumer_ = &consumer;
    }
  }
  Access access(RequestContext& ctx) const override {
    if (!config_.tag.empty()) append_trace(ctx, config_.tag);
    if (consumer_ != nullptr) ctx.authenticate(*consumer_, "test-credential");
    if (config_.suspend) return Access::suspend;
    return answer(ctx);
  }
  boost::asio::awaitable<Access> access_async(RequestContext& ctx) const override { co_return answer(ctx); }
  void log(RequestContext& ctx) const noexcept override { ctx.state<int>(*this) += 1; }
  void response_headers(RequestContext& ctx) const override {
    if (!config_.response_header.empty()) ctx.add_response_header("X-Test-Plugin", config_.response_header);
    if (config_.echo_upstream_status && ctx.upstream_response() != nullptr) {
      ctx.add_response_header("X-Test-Upstream", std::to_string(ctx.upstream_response()->status));
    }
  }
  void response_body(RequestContext& ctx, std::string& body) const override {
    body += config_.body_suffix;
    if (config_.echo_upstream_status && ctx.upstream_response() != nullptr) {
      body += "|upstream " + std::to_string(ctx.upstream_response()->status);
    }
  }

 private:
  Access answer(RequestContext& ctx) const {
    if (!config_.stored_body.empty()) {
      // Held by a shared_ptr, as a cache holds its entries: sent without a copy.
      auto stored = std::make_shared<const std::string>(config_.stored_body);
      ctx.reply_stored(200, "Content-Type: text/plain\r\nX-Stored: yes\r\n", *stored, stored);
      return Access::replied;
    }
    if (config_.reply_status == 0) return Access::next;
    ctx.reply(config_.reply_status, config_.tag);
    return Access::replied;
  }
  const NoopConfig& config_;
  const config::ConsumerConfig* consumer_ = nullptr;
};

}  // namespace

std::unique_ptr<Schema> make_noop_schema(std::string name, int priority, unsigned phases, unsigned scopes) {
  auto schema = std::make_unique<Schema>();
  static std::deque<std::string> names;  // Schema::name is a view: names live for the process
  names.push_back(std::move(name));
  schema->name = names.back();
  schema->priority = priority;
  schema->phases = phases;
  schema->scopes = scopes;
  using C = NoopConfig;
  static const ConfigSchemaOf<C> config(schema::Record<C>()
                                            .field("tag", &C::tag)
                                            .field("reply_status", &C::reply_status, {.min = 0, .max = 599})
                                            .field("suspend", &C::suspend)
                                            .field("body_suffix", &C::body_suffix)
                                            .field("response_header", &C::response_header)
                                            .field("authenticate", &C::authenticate)
                                            .field("stored_body", &C::stored_body)
                                            .field("echo_upstream_status", &C::echo_upstream_status));
  schema->config = &config;
  schema->instantiate = instantiate_as<NoopInstance, NoopConfig>;
  return schema;
}

std::string_view access_trace(RequestContext& ctx) {
  auto* t = ctx.existing_state<Trace>(g_trace_owner);
  return t == nullptr || t->data == nullptr ? std::string_view{} : std::string_view(t->data, t->size);
}

}  // namespace portico::plugin::testing
