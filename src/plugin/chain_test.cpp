#include "plugin/chain.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "config/yaml_json.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/test_plugins.hpp"
#include "proxy/shared_state.hpp"

namespace portico::plugin {
namespace {

// A plugin config written as YAML, read through the plugin's schema.
std::shared_ptr<const ParsedConfig> parse_config(const Schema& schema, const std::string& yaml) {
  config::MarkMap marks;
  schema::Errors errors;
  auto config = schema.config->read(config::yaml_to_json(YAML::Load(yaml), "config", marks), errors,
                                    schema::Input::typed, "config");
  EXPECT_TRUE(errors.empty()) << errors.front().path << ": " << errors.front().message;
  return config;
}


using config::PluginEntry;

// One service, two routes, two consumers; plugin entries added by the tests.
struct Fixture {
  config::DeclarativeConfig cfg;
  proxy::SharedStateRegistry shared;
  std::vector<std::shared_ptr<const Instance>> instances;

  Fixture() {
    cfg.services.resize(1);
    cfg.services[0].id = "s";
    cfg.routes.resize(2);
    cfg.routes[0].id = "r0";
    cfg.routes[1].id = "r1";
    cfg.routes[0].service_index = cfg.routes[1].service_index = 0;
    cfg.consumers.resize(2);
    cfg.consumers[0].id = "c0";
    cfg.consumers[0].username = "alice";
    cfg.consumers[1].id = "c1";
    cfg.consumers[1].username = "bob";
  }

  void add(const Schema& schema, const std::string& config_yaml, std::size_t service = PluginEntry::kNone,
           std::size_t route = PluginEntry::kNone, std::size_t consumer = PluginEntry::kNone, bool enabled = true) {
    PluginEntry e;
    e.name = std::string(schema.name);
    e.schema = &schema;
    e.service = service;
    e.route = route;
    e.consumer = consumer;
    e.enabled = enabled;
    e.config = parse_config(schema, config_yaml);
    cfg.plugins.push_back(std::move(e));
  }

  Chains build(std::size_t route) {
    instances.clear();
    for (const auto& e : cfg.plugins) {
      BuildContext ctx{shared, cfg, e.name, "test"};
      instances.push_back(e.enabled ? e.schema->instantiate(*e.config, ctx) : nullptr);
    }
    return resolve_chains(cfg, instances, route);
  }
};

http::RequestHead request() {
  static std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  http::RequestHead head;
  http::parse_request_head(raw, {}, head);
  return head;
}

TEST(Chain, OrdersByPriorityAndPicksTheMostSpecificEntry) {
  auto high = testing::make_noop_schema("high", 2000, kAccess);
  auto low = testing::make_noop_schema("low", 10, kAccess);
  Fixture f;
  f.add(*low, "{tag: low-global}");
  f.add(*high, "{tag: high-global}");
  f.add(*high, "{tag: high-service}", 0);
  f.add(*high, "{tag: high-route}", PluginEntry::kNone, 0);
  f.add(*high, "{tag: high-route-disabled}", PluginEntry::kNone, 1, PluginEntry::kNone, false);
  auto head = request();
  for (std::size_t route : {0u, 1u}) {
    Chains chains = f.build(route);
    RequestContext ctx;
    ctx.begin(head, "1.2.3.4", "/", nullptr, nullptr, &chains);
    EXPECT_EQ(run_access(ctx), Access::next);
    // Route 0: its own entry beats the service's; route 1: its entry is disabled, so the
    // service's applies (disabled entries are left out before choosing, as in Kong).
    EXPECT_EQ(testing::access_trace(ctx), route == 0 ? "high-route,low-global" : "high-service,low-global");
  }
}

TEST(Chain, EveryScopeCombinationRanksAsInKong) {
  // One entry per scope combination; removing the most specific one at a time must hand
  // over to the next in Kong's order.
  auto p = testing::make_noop_schema("p", 1, kAccess);
  auto auth = testing::make_noop_schema("auth", 1000, kAccess, kGlobal | kRoute);
  const std::size_t N = PluginEntry::kNone;
  struct Scope {
    std::size_t service, route, consumer;
    const char* tag;
  };
  const Scope order[] = {{0, 0, 0, "crs"}, {N, 0, 0, "cr"}, {0, N, 0, "cs"}, {0, 0, N, "rs"},
                         {N, N, 0, "c"},   {N, 0, N, "r"},  {0, N, N, "s"},  {N, N, N, "g"}};
  auto head = request();
  for (std::size_t first = 0; first < std::size(order); ++first) {
    Fixture f;
    f.add(*auth, "{authenticate: alice}", N, 0);
    for (std::size_t i = first; i < std::size(order); ++i) {
      f.add(*p, std::string("{tag: ") + order[i].tag + "}", order[i].service, order[i].route, order[i].consumer);
    }
    Chains chains = f.build(0);
    RequestContext ctx;
    ctx.begin(head, "1.2.3.4", "/", nullptr, nullptr, &chains);
    run_access(ctx);
    EXPECT_EQ(testing::access_trace(ctx), order[first].tag) << "most specific left: " << order[first].tag;
  }
}

TEST(Chain, ConsumerChainTakesOverAfterAuthentication) {
  // An "auth" plugin (priority 1000) identifies alice; a consumer-scoped entry of a later
  // plugin (priority 500) replaces the route's for her, and an earlier one (priority 2000)
  // is not run again.
  auto auth = testing::make_noop_schema("auth", 1000, kAccess, kGlobal | kRoute);
  auto later = testing::make_noop_schema("later", 500, kAccess);
  auto earlier = testing::make_noop_schema("earlier", 2000, kAccess);
  Fixture f;
  f.add(*auth, "{tag: auth}", PluginEntry::kNone, 0);
  f.add(*later, "{tag: later-route}", PluginEntry::kNone, 0);
  f.add(*later, "{tag: later-alice}", PluginEntry::kNone, PluginEntry::kNone, 0);
  f.add(*earlier, "{tag: earlier-route}", PluginEntry::kNone, 0);
  f.add(*earlier, "{tag: earlier-alice}", PluginEntry::kNone, PluginEntry::kNone, 0);
  Chains chains = f.build(0);
  ASSERT_EQ(chains.by_consumer.size(), 1u);
  auto head = request();

  RequestContext anonymous_ctx;
  anonymous_ctx.begin(head, "1.2.3.4", "/", nullptr, nullptr, &chains);
  EXPECT_EQ(run_access(anonymous_ctx), Access::next);
  EXPECT_EQ(testing::access_trace(anonymous_ctx), "earlier-route,auth,later-route");

  // The auth plugin identifies alice: "later" then runs with her entry; "earlier" ran
  // before the switch and is not run again.
  f.cfg.plugins[0].config = parse_config(*auth, "{tag: auth, authenticate: alice}");
  Chains switched = f.build(0);
  RequestContext ctx;
  ctx.begin(head, "1.2.3.4", "/", nullptr, nullptr, &switched);
  EXPECT_EQ(run_access(ctx), Access::next);
  EXPECT_EQ(testing::access_trace(ctx), "earlier-route,auth,later-alice");
  EXPECT_EQ(ctx.consumer(), &f.cfg.consumers[0]);
  // bob has no entries of his own: the base chain goes on.
  f.cfg.plugins[0].config = parse_config(*auth, "{tag: auth, authenticate: bob}");
  Chains for_bob = f.build(0);
  RequestContext bob_ctx;
  bob_ctx.begin(head, "1.2.3.4", "/", nullptr, nullptr, &for_bob);
  EXPECT_EQ(run_access(bob_ctx), Access::next);
  EXPECT_EQ(testing::access_trace(bob_ctx), "earlier-route,auth,later-route");
}

TEST(Chain, ReplyStopsTheAccessPhaseAndLogStillRuns) {
  auto first = testing::make_noop_schema("first", 100, kAccess | kLog);
  auto second = testing::make_noop_schema("second", 50, kAccess | kLog);
  Fixture f;
  f.add(*first, "{tag: first, reply_status: 401}");
  f.add(*second, "{tag: second}");
  Chains chains = f.build(0);
  auto head = request();
  RequestContext ctx;
  ctx.begin(head, "1.2.3.4", "/", nullptr, nullptr, &chains);
  EXPECT_EQ(run_access(ctx), Access::replied);
  EXPECT_EQ(ctx.reply_status(), 401);
  EXPECT_EQ(ctx.reply_body(), R"({"message":"first"})");
  EXPECT_EQ(testing::access_trace(ctx), "first");
  run_log(ctx);
  EXPECT_EQ(*ctx.existing_state<int>(*f.instances[0]), 1);
  EXPECT_EQ(*ctx.existing_state<int>(*f.instances[1]), 1);
}

TEST(Chain, SuspendedPluginIsAwaitedThenTheChainGoesOn) {
  auto io_plugin = testing::make_noop_schema("io", 100, kAccess);
  auto after = testing::make_noop_schema("after", 50, kAccess);
  Fixture f;
  f.add(*io_plugin, "{tag: io, suspend: true}");
  f.add(*after, "{tag: after, reply_status: 403}");
  Chains chains = f.build(0);
  auto head = request();
  RequestContext ctx;
  ctx.begin(head, "1.2.3.4", "/", nullptr, nullptr, &chains);
  ASSERT_EQ(run_access(ctx), Access::suspend);
  boost::asio::io_context io;
  auto result = boost::asio::co_spawn(io, finish_access(ctx), boost::asio::use_future);
  io.run();
  EXPECT_EQ(result.get(), Access::replied);
  EXPECT_EQ(testing::access_trace(ctx), "io,after");
}

TEST(Chain, ContextResetKeepsNothingBetweenRequests) {
  auto p = testing::make_noop_schema("p", 1, kAccess);
  Fixture f;
  f.add(*p, "{tag: p}");
  Chains chains = f.build(0);
  auto head = request();
  RequestContext ctx;
  ctx.begin(head, "1.2.3.4", "/", nullptr, nullptr, &chains);
  ctx.authenticate(f.cfg.consumers[1], "k");
  ctx.upstream_headers().set("X-A", "1");
  run_access(ctx);
  ctx.reset();
  ctx.begin(head, "1.2.3.4", "/", nullptr, nullptr, &chains);
  EXPECT_EQ(ctx.consumer(), nullptr);
  EXPECT_TRUE(ctx.upstream_headers().empty());
  EXPECT_EQ(testing::access_trace(ctx), "");
  run_access(ctx);
  EXPECT_EQ(testing::access_trace(ctx), "p");
}

}  // namespace
}  // namespace portico::plugin
