// Symmetric building blocks through OpenSSL: random bytes, SHA-256, HMAC-SHA256, HKDF-SHA256
// (RFC 5869) and AES-256-GCM (authenticated encryption). Used where Portico keeps state in
// the client's hands and must get it back unread and unchanged (the openid-connect plugin's
// cookies, crypto/sealed_box.hpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace portico::crypto {

// `n` bytes from OpenSSL's CSPRNG. Throws std::runtime_error if it cannot deliver (never
// silently weaker randomness).
std::string random_bytes(std::size_t n);

// Raw digests (32 bytes).
std::string sha256(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);

// RFC 5869 with SHA-256: `length` bytes (at most 255 * 32) derived from `ikm`.
std::string hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info, std::size_t length);

// Constant-time equality of two byte strings (false at once when the lengths differ: lengths
// are not secret here).
bool equal_constant_time(std::string_view a, std::string_view b);

// AES-256-GCM with a 12-byte nonce and a 16-byte tag appended to the ciphertext. A nonce must
// never repeat under one key: callers draw it at random for each message (2^32 messages per
// key keep the collision chance negligible, NIST SP 800-38D 8.3).
class Aes256Gcm {
 public:
  static constexpr std::size_t kKeySize = 32, kNonceSize = 12, kTagSize = 16;
  // `key` must be kKeySize bytes.
  explicit Aes256Gcm(std::string_view key);
  // ciphertext || tag
  std::string seal(std::string_view nonce, std::string_view aad, std::string_view plaintext) const;
  // The plaintext, or nullopt when the tag does not match (anything changed, wrong key).
  std::optional<std::string> open(std::string_view nonce, std::string_view aad, std::string_view sealed) const;

 private:
  std::string key_;
};

}  // namespace portico::crypto
