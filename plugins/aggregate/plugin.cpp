// The aggregate plugin (issue 12; Portico's own, route scope, terminal): one request fans out
// to several backends in parallel and is answered with one JSON object composed of their
// shaped answers. The configuration is config.hpp, templates template.hpp, the values they
// read values.hpp, the calls fanout.hpp, the answer compose.hpp; README.md for users.
//
//   access:       hands over to access_async (the calls are I/O).
//   access_async: gathers the client's values (400 naming a missing one), reads the body when
//                 a template needs it, runs the calls, answers 200 / 502 / 504.
#include <boost/json.hpp>

#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"
#include "plugins/aggregate/compose.hpp"
#include "plugins/aggregate/config.hpp"
#include "plugins/aggregate/fanout.hpp"
#include "plugin/calls/outgoing.hpp"
#include "plugin/calls/values.hpp"

namespace portico::plugin {
namespace {

namespace agg = plugins::aggregate;
namespace calls = plugin::calls;
using agg::AggregateConfig;
using agg::BackendConfig;
using Clock = std::chrono::steady_clock;

class AggregateInstance final : public Instance {
 public:
  AggregateInstance(const AggregateConfig& config, BuildContext& build) : config_(config) {
    destinations_.resize(config.backends.size());
    url_targets_.resize(config.backends.size());
    for (std::size_t i = 0; i < config.backends.size(); ++i) {
      const BackendConfig& b = config.backends[i];
      agg::Destination& d = destinations_[i];
      if (!b.service.empty()) {
        calls::find_service(build.config, b.service, d.service);  // checked at load (check_services)
        d.target = &b.target;
        continue;
      }
      calls::SplitUrl url = calls::split_url(b.url);
      std::string error;
      url_targets_[i] = agg::Template::parse(url.rest, error);  // a part of a template that parsed
      d.target = url_targets_[i] ? &*url_targets_[i] : &b.target;
      d.fixed = calls::fixed_destination(url, build);
    }
    for_each_reference(config, [&](const BackendConfig&, const agg::Reference& ref) {
      reads_body_ = reads_body_ || ref.source == "body";
      return true;
    });
  }

  Access access(RequestContext&) const override { return Access::suspend; }

  boost::asio::awaitable<Access> access_async(RequestContext& ctx) const override {
    if (ctx.backend_client() == nullptr) {
      ctx.reply(500, "the aggregate plugin cannot make calls here");
      co_return Access::replied;
    }
    Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(config_.timeout);
    agg::RequestInputs inputs;
    std::string missing = gather_client_values(ctx, inputs);  // before the body moves the head
    if (!missing.empty()) {
      ctx.reply(400, missing);
      co_return Access::replied;
    }
    if (reads_body_) {
      bool read = co_await ctx.read_request_body();
      if (!read) {
        ctx.reply(ctx.body_error_status(), ctx.body_error());
        co_return Access::replied;
      }
      missing = gather_body_values(ctx, inputs);
      if (!missing.empty()) {
        ctx.reply(400, missing);
        co_return Access::replied;
      }
    }
    auto outcomes = co_await agg::run_fanout(config_, destinations_, ctx, inputs, deadline);
    agg::Composed answer = agg::compose(config_, outcomes);
    ctx.reply_json(answer.status, answer.body,
                   answer.completed ? "X-Portico-Completed: true\r\n" : "X-Portico-Completed: false\r\n");
    co_return Access::replied;
  }

 private:
  // Every client-sourced reference's value (but the body's), the forwarded headers; the
  // message for the first reference without a value, else empty.
  std::string gather_client_values(const RequestContext& ctx, agg::RequestInputs& inputs) const {
    std::optional<boost::json::value> claims;
    std::string missing = gather(inputs, calls::is_client_source, [&](const agg::Reference& ref) {
      return calls::client_value(ctx, ref, claims);
    });
    if (!missing.empty()) return missing;
    inputs.common_headers = calls::forwarded_headers(ctx, config_.forward_headers);
    for (const auto& b : config_.backends) inputs.backend_headers.push_back(calls::copied_headers(ctx, b.forward_headers));
    return {};
  }

  // The body's values ({body.name}): the request body must be a JSON document.
  std::string gather_body_values(const RequestContext& ctx, agg::RequestInputs& inputs) const {
    boost::system::error_code ec;
    boost::json::value body = boost::json::parse(ctx.request_body(), ec);
    if (ec) return "the request body is not JSON";
    return gather(inputs, [](std::string_view source) { return source == "body"; },
                  [&](const agg::Reference& ref) -> std::optional<std::string> {
                    auto v = calls::value_at(body, ref.name);
                    return v ? calls::scalar_text(*v) : std::nullopt;
                  });
  }

  // Calls fn(backend, reference) for every reference of every backend's templates, until fn
  // returns false.
  template <typename Fn>
  static void for_each_reference(const AggregateConfig& config, Fn fn) {
    for (const auto& b : config.backends) {
      for (const agg::Template* t : {&b.target, b.body_template ? &*b.body_template : nullptr}) {
        if (t == nullptr) continue;
        for (const auto& ref : t->references()) {
          if (!fn(b, ref)) return;
        }
      }
    }
  }

  // Fills inputs.values with the value (value_of) of every reference whose source `wanted`
  // takes, once per reference; the message naming the first one without a value, else empty.
  template <typename Wanted, typename ValueOf>
  std::string gather(agg::RequestInputs& inputs, Wanted wanted, ValueOf value_of) const {
    std::string missing;
    for_each_reference(config_, [&](const BackendConfig& b, const agg::Reference& ref) {
      if (!wanted(ref.source)) return true;
      std::string key = ref.text();
      if (inputs.values.count(key) != 0) return true;
      std::optional<std::string> value = value_of(ref);
      if (!value) {
        missing = "missing value for " + key + " (backend '" + b.name + "')";
        return false;
      }
      inputs.values.emplace(std::move(key), std::move(*value));
      return true;
    });
    return missing;
  }

  const AggregateConfig& config_;
  std::vector<agg::Destination> destinations_;
  std::vector<std::optional<agg::Template>> url_targets_;  // url backends: the path part
  bool reads_body_ = false;
};

// Backends naming services that are not in the configuration.
void check_services(const ParsedConfig& parsed, const config::DeclarativeConfig& config, const CheckError& error) {
  const auto& c = static_cast<const AggregateConfig&>(parsed);
  for (std::size_t i = 0; i < c.backends.size(); ++i) {
    std::size_t index = 0;
    const auto& b = c.backends[i];
    if (!b.service.empty() && calls::find_service(config, b.service, index) == nullptr) {
      error({}, "backends[" + std::to_string(i) + "].service", "no service named '" + b.service + "'");
    }
  }
}

void url_hosts(const ParsedConfig& parsed, std::vector<std::string>& hosts) {
  for (const auto& b : static_cast<const AggregateConfig&>(parsed).backends) {
    if (!b.url.empty()) hosts.push_back(calls::split_url(b.url).host);
  }
}

}  // namespace

const Schema& aggregate_schema() {
  static const Schema schema{
      .name = "aggregate",
      // Terminal: after authentication, ACLs, rate limits and circuit breakers (their
      // answers and identity come first), as Kong's request-termination (2).
      .priority = 3,
      .phases = kAccess,
      .scopes = kRoute,
      .config = &plugins::aggregate::aggregate_config_schema(),
      .check = check_services,
      .instantiate = instantiate_as<AggregateInstance, AggregateConfig>,
      .hosts = url_hosts,
  };
  return schema;
}

}  // namespace portico::plugin
