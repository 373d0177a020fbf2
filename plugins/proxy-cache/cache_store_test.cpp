// The cache store: freshness and expiry against the test's clock, the byte bound with LRU
// eviction, purges, and entries kept alive for the readers that hold them.
#include "plugins/proxy-cache/cache_store.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace portico::plugins::cache {
namespace {

std::shared_ptr<const CachedResponse> entry(std::string key, std::string path, std::size_t body_bytes,
                                            std::int64_t now, std::int64_t fresh_ms, std::int64_t keep_ms) {
  auto e = std::make_shared<CachedResponse>();
  e->key = std::move(key);
  e->path = std::move(path);
  e->body.assign(body_bytes, 'x');
  e->stored_at_ms = now;
  e->fresh_until_ms = now + fresh_ms;
  e->keep_until_ms = now + keep_ms;
  return e;
}

TEST(CacheStore, AnEntryIsFreshThenStaleThenGone) {
  CacheStore store(1 << 20);
  ASSERT_TRUE(store.put(entry("k", "/products/42", 10, 1000, 300, 500)));
  auto hit = store.find("k", 1200);
  ASSERT_NE(hit, nullptr);
  EXPECT_LT(1200, hit->fresh_until_ms);  // fresh: a hit
  hit = store.find("k", 1400);
  ASSERT_NE(hit, nullptr);
  EXPECT_GE(1400, hit->fresh_until_ms);  // stale, still kept (stale-if-error)
  EXPECT_EQ(store.find("k", 1500), nullptr);  // past keep_until: dropped
  EXPECT_EQ(store.entries(), 0u);
  EXPECT_EQ(store.bytes(), 0u);
}

TEST(CacheStore, MemoryIsBoundedByEvictingTheLeastRecentlyUsed) {
  const std::size_t budget = 32 * 8 * 1024;  // 8 KiB per shard
  CacheStore store(budget);
  for (int i = 0; i < 5000; ++i) {
    store.put(entry("key-" + std::to_string(i), "/p/" + std::to_string(i), 1000, 0, 1000, 1000));
  }
  EXPECT_LE(store.bytes(), budget);
  EXPECT_GT(store.evictions(), 4000u);
  EXPECT_NE(store.find("key-4999", 1), nullptr);  // the newest are kept
  EXPECT_EQ(store.find("key-0", 1), nullptr);     // the oldest went first
  // One entry larger than a shard's share is never stored (nor does it flush the shard).
  EXPECT_FALSE(store.put(entry("huge", "/huge", 9 * 1024, 0, 1000, 1000)));
}

TEST(CacheStore, AHitKeepsAnEntryFromEviction) {
  CacheStore store(32 * 4 * 1024);  // 4 KiB per shard: three 1 KiB entries fit in one
  // Keys chosen to land in one shard: the store hashes; find three that collide.
  std::vector<std::string> same_shard;
  CacheStore probe(32 * 1500);  // one 1 KiB entry per shard: a put evicts its shard's other key
  for (int i = 0; same_shard.size() < 4 && i < 100000; ++i) {
    std::string k = "k" + std::to_string(i);
    if (same_shard.empty()) {
      probe.put(entry(k, "/", 1000, 0, 10, 10));
      same_shard.push_back(k);
      continue;
    }
    probe.put(entry(k, "/", 1000, 0, 10, 10));
    if (probe.find(same_shard.front(), 1) == nullptr) {
      same_shard.push_back(k);
      probe.put(entry(same_shard.front(), "/", 1000, 0, 10, 10));
    }
  }
  ASSERT_EQ(same_shard.size(), 4u);
  for (int i = 0; i < 3; ++i) store.put(entry(same_shard[i], "/", 1000, 0, 10, 10));
  ASSERT_NE(store.find(same_shard[0], 1), nullptr);  // the oldest is now the most recent
  store.put(entry(same_shard[3], "/", 1000, 0, 10, 10));  // evicts the least recent: [1]
  EXPECT_NE(store.find(same_shard[0], 1), nullptr);
  EXPECT_EQ(store.find(same_shard[1], 1), nullptr);
  EXPECT_NE(store.find(same_shard[2], 1), nullptr);
}

TEST(CacheStore, PurgesByKeyPathPrefixAndAll) {
  CacheStore store(1 << 20);
  store.put(entry("a1", "/products/42", 1, 0, 10, 10));
  store.put(entry("a2", "/products/42", 1, 0, 10, 10));  // another variant (query, vary) of the path
  store.put(entry("b", "/products/420", 1, 0, 10, 10));
  store.put(entry("c", "/orders/1", 1, 0, 10, 10));
  EXPECT_EQ(store.erase_path("/products/42", false), 2u);
  EXPECT_NE(store.find("b", 1), nullptr);
  EXPECT_EQ(store.erase_path("/products/", true), 1u);
  EXPECT_TRUE(store.erase("c"));
  EXPECT_FALSE(store.erase("c"));
  store.put(entry("d", "/d", 1, 0, 10, 10));
  EXPECT_EQ(store.clear(), 1u);
  EXPECT_EQ(store.bytes(), 0u);
}

TEST(CacheStore, AReaderKeepsItsEntryWhenItIsReplacedOrPurged) {
  CacheStore store(1 << 20);
  store.put(entry("k", "/k", 5, 0, 10, 10));
  auto held = store.find("k", 1);
  store.put(entry("k", "/k", 7, 0, 10, 10));
  store.clear();
  EXPECT_EQ(held->body, "xxxxx");  // still the bytes being sent
}

TEST(CacheStore, ManyThreadsHitAndReplaceAtOnce) {
  CacheStore store(1 << 20);
  std::vector<std::thread> threads;
  std::atomic<int> hits{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        std::string key = "k" + std::to_string(i % 50);
        if ((i + t) % 7 == 0) store.put(entry(key, "/p", 100, 0, 1000, 1000));
        if (auto e = store.find(key, 1); e && e->body.size() == 100) hits.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(hits.load(), 0);
  EXPECT_EQ(store.entries(), 50u);
  std::size_t expected = 0;
  for (int i = 0; i < 50; ++i) expected += store.find("k" + std::to_string(i), 1)->cost();
  EXPECT_EQ(store.bytes(), expected);  // the accounting survived the races
}

}  // namespace
}  // namespace portico::plugins::cache

namespace portico::plugins::cache {
namespace {

TEST(CacheStore, AResponseFetchedBeforeAPurgeIsNotStoredAfterIt) {
  CacheStore store(1 << 20);
  std::uint64_t before = store.generation();
  store.erase_path("/products/42", false);  // a purge while the response was on its way
  EXPECT_FALSE(store.put(entry("k", "/products/42", 10, 0, 100, 100), before));
  EXPECT_EQ(store.find("k", 1), nullptr);
  EXPECT_TRUE(store.put(entry("k", "/products/42", 10, 0, 100, 100), store.generation()));
  EXPECT_NE(store.find("k", 1), nullptr);
}

}  // namespace
}  // namespace portico::plugins::cache

namespace portico::plugins::cache {
namespace {

TEST(CacheStore, TheAdminApiFindsAndErasesEntriesByTheKeyAsShown) {
  CacheStore store(1 << 20);
  auto e = std::make_shared<CachedResponse>();
  e->key = "5:route|3:GET";
  e->key_hex = "ab12";
  e->keep_until_ms = 100;
  e->fresh_until_ms = 100;
  ASSERT_TRUE(store.put(e));
  EXPECT_EQ(store.find_shown("ab12", 50), e);
  EXPECT_EQ(store.find_shown("ab12", 100), nullptr);  // past its keep deadline
  EXPECT_EQ(store.find_shown("cd34", 50), nullptr);
  EXPECT_FALSE(store.erase_shown("cd34"));
  EXPECT_TRUE(store.erase_shown("ab12"));
  EXPECT_EQ(store.find("5:route|3:GET", 50), nullptr);
}

}  // namespace
}  // namespace portico::plugins::cache
