#include "crypto/sealed_box.hpp"

#include <stdexcept>

#include "crypto/base64.hpp"

namespace portico::crypto {

namespace {
constexpr char kVersion = 1;
constexpr std::size_t kIdSize = 4;
constexpr std::size_t kHeaderSize = 1 + kIdSize + Aes256Gcm::kNonceSize;
constexpr std::string_view kSalt = "portico sealed box v1";

std::string info(std::string_view purpose, std::string_view use) {
  std::string out(purpose);
  out += '\0';
  out += use;
  return out;
}

std::string additional_data(std::string_view header, std::string_view purpose) {
  std::string aad(header);
  aad += purpose;
  return aad;
}
}  // namespace

SealedBox::SealedBox(const std::vector<std::string>& secrets, std::string_view purpose) : purpose_(purpose) {
  if (secrets.empty()) throw std::invalid_argument("a sealed box needs a secret");
  keys_.reserve(secrets.size());
  for (const std::string& secret : secrets) {
    keys_.push_back(Key{hkdf_sha256(secret, kSalt, info(purpose, "key id"), kIdSize),
                        Aes256Gcm(hkdf_sha256(secret, kSalt, info(purpose, "encryption"), Aes256Gcm::kKeySize))});
  }
}

std::string SealedBox::seal(std::string_view plaintext) const {
  const Key& key = keys_.front();
  std::string header;
  header.reserve(kHeaderSize);
  header += kVersion;
  header += key.id;
  header += random_bytes(Aes256Gcm::kNonceSize);
  const std::string_view nonce = std::string_view(header).substr(1 + kIdSize);
  std::string sealed = header + key.cipher.seal(nonce, additional_data(header, purpose_), plaintext);
  return base64url_encode(sealed);
}

std::optional<std::string> SealedBox::open(std::string_view text, std::size_t max_text) const {
  if (text.size() > max_text) return std::nullopt;
  std::string raw;
  if (!base64url_decode(text, raw) || raw.size() < kHeaderSize + Aes256Gcm::kTagSize || raw[0] != kVersion) {
    return std::nullopt;
  }
  const std::string_view all(raw);
  const std::string_view header = all.substr(0, kHeaderSize);
  const std::string_view id = all.substr(1, kIdSize);
  const std::string_view nonce = all.substr(1 + kIdSize, Aes256Gcm::kNonceSize);
  const std::string aad = additional_data(header, purpose_);
  for (const Key& key : keys_) {
    if (key.id != id) continue;
    if (auto plain = key.cipher.open(nonce, aad, all.substr(kHeaderSize))) return plain;
  }
  return std::nullopt;
}

}  // namespace portico::crypto
