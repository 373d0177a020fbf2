// A new snapshot keeps the balancers whose inputs did not change (so a change costs what it
// changes) and builds new ones for what did.
#include "config/snapshot.hpp"

#include <gtest/gtest.h>

#include "config/loader.hpp"

namespace portico::config {
namespace {

const char* kBase = R"(
_format_version: "3.0"
services:
- name: a
  url: http://127.0.0.1:9001
  routes: [{name: a-route, paths: [/a]}]
- name: b
  url: http://127.0.0.1:9002
- name: c
  host: pool
upstreams:
- name: pool
  targets: [{target: "127.0.0.1:9003"}, {target: "127.0.0.1:9004", weight: 50}]
)";

std::shared_ptr<const DeclarativeConfig> load(const std::string& text) {
  auto loaded = load_declarative_text(text, "kong.yml");
  EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.errors.front().to_string());
  return std::make_shared<const DeclarativeConfig>(std::move(loaded.config));
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

class SnapshotReuse : public ::testing::Test {
 protected:
  std::shared_ptr<const Snapshot> build(const std::string& text, const Snapshot* previous) {
    std::vector<std::string> warnings;
    return build_snapshot(load(text), ++generation_, shared_, nullptr, warnings, nullptr, previous);
  }
  const proxy::Balancer* service_balancer(const Snapshot& s, const std::string& name) {
    for (const auto& rt : s.services) {
      if (rt.config->name == name) return s.balancers[rt.balancer_index].get();
    }
    ADD_FAILURE() << "no service " << name;
    return nullptr;
  }
  proxy::SharedStateRegistry shared_;
  std::uint64_t generation_ = 0;
};

TEST_F(SnapshotReuse, UnchangedBalancersAreTheSameObjects) {
  auto first = build(kBase, nullptr);
  std::string with_route = replaced(kBase, "routes: [{name: a-route, paths: [/a]}]",
                                    "routes: [{name: a-route, paths: [/a]}, {name: new, paths: [/new]}]");
  auto second = build(with_route, first.get());
  ASSERT_EQ(second->balancers.size(), first->balancers.size());
  for (std::size_t i = 0; i < first->balancers.size(); ++i) {
    EXPECT_EQ(second->balancers[i].get(), first->balancers[i].get()) << i;
  }
  // The upstream's targets point into the balancer the new snapshot holds.
  const auto& pool = second->upstreams.at(0);
  EXPECT_EQ(pool.targets.at(1).endpoints.at(0), &second->balancers[pool.balancer_index]->endpoints().at(1));
  EXPECT_EQ(second->router->route_count(), 2u);
}

TEST_F(SnapshotReuse, ChangedInputsGetNewBalancers) {
  auto first = build(kBase, nullptr);
  auto moved = build(replaced(kBase, "http://127.0.0.1:9002", "http://127.0.0.1:9012"), first.get());
  EXPECT_NE(service_balancer(*moved, "b"), service_balancer(*first, "b"));
  EXPECT_EQ(service_balancer(*moved, "b")->endpoints().at(0).address.port(), 9012);
  EXPECT_EQ(service_balancer(*moved, "a"), service_balancer(*first, "a"));
  EXPECT_EQ(service_balancer(*moved, "c"), service_balancer(*first, "c"));

  auto reweighted = build(replaced(kBase, "weight: 50", "weight: 60"), first.get());
  EXPECT_NE(service_balancer(*reweighted, "c"), service_balancer(*first, "c"));
  EXPECT_EQ(service_balancer(*reweighted, "c")->endpoints().at(1).weight, 60);

  auto rebalanced = build(replaced(kBase, "- name: pool\n", "- name: pool\n  algorithm: least-connections\n"), first.get());
  EXPECT_NE(service_balancer(*rebalanced, "c"), service_balancer(*first, "c"));
  EXPECT_EQ(service_balancer(*rebalanced, "c")->algorithm(), proxy::Algorithm::least_connections);
}

TEST_F(SnapshotReuse, AServiceOnADifferentPositionKeepsItsBalancer) {
  auto first = build(kBase, nullptr);
  // "a" removed: "b" moves to index 0 and keeps its balancer (matched by id, not position).
  std::string without_a = replaced(kBase, "- name: a\n  url: http://127.0.0.1:9001\n  routes: [{name: a-route, paths: [/a]}]\n", "");
  auto second = build(without_a, first.get());
  EXPECT_EQ(second->services.at(0).config->name, "b");
  EXPECT_EQ(service_balancer(*second, "b"), service_balancer(*first, "b"));
}

}  // namespace
}  // namespace portico::config
