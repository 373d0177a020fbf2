// libFuzzer target: the proxy cache's stored-entry format (what every node reads back from
// Redis, where anything may have been written). Decoding never fails loudly, and what decodes
// is canonical: encoding it again gives the same bytes. Built by tests/fuzz/run.sh.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plugins/proxy-cache/entry_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace portico::plugins::cache;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto entry = decode_entry(input);
  if (entry && encode_entry(*entry) != input) __builtin_trap();
  return 0;
}
