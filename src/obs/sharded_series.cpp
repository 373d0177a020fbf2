#include "obs/sharded_series.hpp"

#include <cstring>
#include <stdexcept>

namespace portico::obs {
namespace {
std::atomic<std::size_t> g_max_series{10000};
std::atomic<std::uint64_t> g_overflows{0};
std::atomic<int> g_next_slot{0};
}  // namespace

void set_max_series(std::size_t max) { g_max_series.store(max, std::memory_order_relaxed); }
std::size_t max_series() { return g_max_series.load(std::memory_order_relaxed); }
std::uint64_t series_overflows() { return g_overflows.load(std::memory_order_relaxed); }
void count_series_overflow() { g_overflows.fetch_add(1, std::memory_order_relaxed); }

void build_series_key(std::string& key, std::initializer_list<std::string_view> values) {
  std::size_t size = 0;
  for (auto v : values) size += v.size() + 1;
  key.resize(size);  // one size change instead of one per value (this runs for every request)
  char* at = key.data();
  for (auto v : values) {
    if (!v.empty()) std::memcpy(at, v.data(), v.size());  // an empty view's data() may be null
    at += v.size();
    *at++ = '\0';
  }
}

std::vector<std::string_view> split_series_key(std::string_view key) {
  std::vector<std::string_view> parts;
  while (!key.empty()) {
    std::size_t zero = key.find('\0');
    parts.push_back(key.substr(0, zero));
    key.remove_prefix(zero + 1);
  }
  return parts;
}

namespace detail {
int next_family_slot() {
  int slot = g_next_slot.fetch_add(1, std::memory_order_relaxed);
  // Families are static objects declared in code, never made per configuration.
  if (slot >= kMaxFamilies) throw std::logic_error("too many sharded metric families");
  return slot;
}
}  // namespace detail

}  // namespace portico::obs
