#include "crypto/digest.hpp"

#include <openssl/sha.h>

#include "core/hex.hpp"

namespace portico::crypto {

std::string hex_encode(std::string_view bytes) {
  std::string out(bytes.size() * 2, '\0');
  write_hex(out.data(), reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return out;
}

std::string sha1_hex(std::string_view data) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return hex_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return hex_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

}  // namespace portico::crypto
