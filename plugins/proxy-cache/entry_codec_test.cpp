#include "plugins/proxy-cache/entry_codec.hpp"

#include <gtest/gtest.h>

namespace portico::plugins::cache {
namespace {

CachedResponse sample() {
  CachedResponse e;
  e.key = std::string("route\0key", 9);
  e.key_hex = std::string(64, 'a');
  e.path = "/items";
  e.status = 404;
  e.headers = "Content-Type: application/json\r\nETag: \"v1\"\r\n";
  e.body = "binary: ";
  e.body += std::string(1, '\0') + "\xff\r\n";
  e.stored_at_ms = 1'700'000'000'123;
  e.fresh_until_ms = e.stored_at_ms + 30'000;
  e.keep_until_ms = std::numeric_limits<std::int64_t>::max() / 2;
  e.initial_age = 7;
  e.etag = "\"v1\"";
  e.last_modified = -1;
  e.vary = {{"accept-language", "fr"}, {"x-empty", ""}};
  e.must_revalidate = true;
  return e;
}

TEST(EntryCodec, EveryFieldComesBackAsStored) {
  CachedResponse e = sample();
  std::string bytes = encode_entry(e);
  auto back = decode_entry(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->key, e.key);
  EXPECT_EQ(back->key_hex, e.key_hex);
  EXPECT_EQ(back->path, e.path);
  EXPECT_EQ(back->status, 404);
  EXPECT_EQ(back->headers, e.headers);
  EXPECT_EQ(back->body, e.body);
  EXPECT_EQ(back->stored_at_ms, e.stored_at_ms);
  EXPECT_EQ(back->fresh_until_ms, e.fresh_until_ms);
  EXPECT_EQ(back->keep_until_ms, e.keep_until_ms);
  EXPECT_EQ(back->initial_age, 7);
  EXPECT_EQ(back->etag, e.etag);
  EXPECT_EQ(back->last_modified, -1);
  EXPECT_EQ(back->vary, e.vary);
  EXPECT_TRUE(back->must_revalidate);
  EXPECT_EQ(encode_entry(*back), bytes);
}

TEST(EntryCodec, AnythingElseIsNoEntry) {
  std::string bytes = encode_entry(sample());
  EXPECT_FALSE(decode_entry(""));
  EXPECT_FALSE(decode_entry("PCE2" + bytes.substr(4)));  // another format's version
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(decode_entry(std::string_view(bytes).substr(0, cut))) << "truncated at " << cut;
  }
  EXPECT_FALSE(decode_entry(bytes + "x"));  // bytes left over
  // The Vary count sits before the pairs: claim more pairs than there are bytes.
  CachedResponse no_vary = sample();
  no_vary.vary.clear();
  std::string plain = encode_entry(no_vary);
  plain[plain.size() - 9] = 0x7f;  // the count's low byte (the flag's 8 bytes follow it)
  EXPECT_FALSE(decode_entry(plain));
}

}  // namespace
}  // namespace portico::plugins::cache
