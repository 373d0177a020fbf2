// Values the gateway hands to a client to carry and get back unread and unchanged (the
// openid-connect plugin's session and pre-login cookies): encrypted and authenticated with
// AES-256-GCM under a key derived from a configured secret.
//
// Text form (base64url, no padding) of: version (1 byte, 1) | key id (4) | nonce (12) |
// ciphertext | tag (16). The version, key id and nonce are authenticated with the purpose as
// additional data. Keys come from HKDF-SHA256 over each secret with the purpose in the info,
// so a value sealed for one purpose ("session") never opens for another ("authorization"),
// even under the same secret. Rotation: the first secret seals, every secret opens (the key
// id picks the key without trial decryption).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/aead.hpp"

namespace portico::crypto {

class SealedBox {
 public:
  // `secrets`: at least one (throws std::invalid_argument otherwise); derivation runs once
  // here, not per value.
  SealedBox(const std::vector<std::string>& secrets, std::string_view purpose);

  std::string seal(std::string_view plaintext) const;
  // The plaintext, or nullopt: not this format, too long (over `max_text` characters), sealed
  // under no secret we hold or for another purpose, or changed in any bit.
  std::optional<std::string> open(std::string_view text, std::size_t max_text = 16384) const;

 private:
  struct Key {
    std::string id;  // 4 bytes
    Aes256Gcm cipher;
  };
  std::string purpose_;
  std::vector<Key> keys_;
};

}  // namespace portico::crypto
