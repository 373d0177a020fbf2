// A cached response as bytes, for the redis strategy: every node writes and reads entries in
// this form. Versioned (a leading magic with the format's number) and strict: anything else,
// truncated or with bytes left over, decodes to nothing, and the entry is treated as absent.
//
// Layout: "PCE1", then the fields in a fixed order; integers as 8 bytes big-endian, strings
// as a 4-byte big-endian length and the bytes, the Vary pairs as a count and the pairs.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "plugins/proxy-cache/cache_store.hpp"

namespace portico::plugins::cache {

std::string encode_entry(const CachedResponse& entry);
std::shared_ptr<const CachedResponse> decode_entry(std::string_view bytes);

}  // namespace portico::plugins::cache
