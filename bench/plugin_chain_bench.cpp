// Cost of the plugin engine per request: taking a pooled context, the access phase, the
// upstream_request and log phases, and giving the context back, for chains of N no-op
// plugins (plugin/test_plugins.hpp). N = 0 is a route without plugins (the proxy takes no
// context at all then; the figure is the loop itself).
#include <benchmark/benchmark.h>

#include "plugin/config_schema.hpp"
#include "http/h1_parser.hpp"
#include "plugin/chain.hpp"
#include "plugin/test_plugins.hpp"
#include "proxy/shared_state.hpp"

namespace {

using namespace portico;

void BM_PluginChain(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<std::unique_ptr<plugin::Schema>> schemas;
  config::DeclarativeConfig cfg;
  cfg.services.resize(1);
  cfg.routes.resize(1);
  for (int i = 0; i < n; ++i) {
    schemas.push_back(plugin::testing::make_noop_schema("noop" + std::to_string(i), 1000 - i,
                                                        plugin::kAccess | plugin::kUpstreamRequest | plugin::kLog));
    config::PluginEntry e;
    e.name = std::string(schemas.back()->name);
    e.schema = schemas.back().get();
    schema::Errors errors;
    e.config = e.schema->config->read(nullptr, errors, schema::Input::typed, "config");  // all defaults
    cfg.plugins.push_back(std::move(e));
  }
  proxy::SharedStateRegistry shared;
  std::vector<std::shared_ptr<const plugin::Instance>> instances;
  for (const auto& e : cfg.plugins) {
    plugin::BuildContext ctx{shared, cfg, e.name, "bench"};
    instances.push_back(e.schema->instantiate(*e.config, ctx));
  }
  plugin::Chains chains = plugin::resolve_chains(cfg, instances, 0);
  std::string raw = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
  http::RequestHead head;
  http::parse_request_head(raw, {}, head);
  plugin::ContextPool pool;
  for (auto _ : state) {
    if (chains.empty()) {
      benchmark::DoNotOptimize(chains);
      continue;
    }
    auto ctx = pool.take();
    ctx->begin(head, "127.0.0.1", "/x", nullptr, nullptr, &chains);
    auto access = plugin::run_access(*ctx);
    benchmark::DoNotOptimize(access);
    plugin::run_upstream_request(*ctx);
    plugin::run_log(*ctx);
  }
}
BENCHMARK(BM_PluginChain)->Arg(0)->Arg(1)->Arg(10);

}  // namespace
