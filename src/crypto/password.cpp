#include "crypto/password.hpp"

#include "crypto/base64.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <openssl/hmac.h>

#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace portico::crypto {
namespace {

std::string derive(std::string_view password, const std::string& salt, int iterations) {
  std::string out(32, '\0');
  int ok = PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                             reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                             iterations, EVP_sha256(), static_cast<int>(out.size()),
                             reinterpret_cast<unsigned char*>(out.data()));
  if (ok != 1) throw std::runtime_error("PBKDF2 failed");
  return out;
}

}  // namespace

PasswordHash hash_password(std::string_view password, int iterations) {
  PasswordHash h;
  h.salt.resize(16);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(h.salt.data()), static_cast<int>(h.salt.size())) != 1) {
    throw std::runtime_error("no randomness for a password salt");
  }
  h.iterations = iterations;
  h.digest = derive(password, h.salt, iterations);
  return h;
}

std::string encode_password_hash(const PasswordHash& hash) {
  return "pbkdf2-sha256$" + std::to_string(hash.iterations) + "$" + base64_encode(hash.salt) + "$" +
         base64_encode(hash.digest);
}

bool decode_password_hash(std::string_view text, PasswordHash& out) {
  constexpr std::string_view kScheme = "pbkdf2-sha256$";
  if (!text.starts_with(kScheme)) return false;
  text.remove_prefix(kScheme.size());
  std::size_t a = text.find('$');
  std::size_t b = a == std::string_view::npos ? a : text.find('$', a + 1);
  if (b == std::string_view::npos) return false;
  std::string_view iterations = text.substr(0, a);
  if (iterations.empty() || iterations.size() > 8) return false;
  int n = 0;
  for (char c : iterations) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  PasswordHash h;
  h.iterations = n;
  if (n < 1000 || n > 10000000) return false;
  if (!base64_decode(text.substr(a + 1, b - a - 1), h.salt) || h.salt.size() != 16) return false;
  if (!base64_decode(text.substr(b + 1), h.digest) || h.digest.size() != 32) return false;
  out = std::move(h);
  return true;
}

bool verify_password(std::string_view password, const PasswordHash& hash) {
  if (hash.iterations <= 0 || hash.digest.size() != 32) return false;
  std::string candidate = derive(password, hash.salt, hash.iterations);
  return CRYPTO_memcmp(candidate.data(), hash.digest.data(), candidate.size()) == 0;
}

}  // namespace portico::crypto

namespace portico::crypto {

std::string process_keyed_digest(std::initializer_list<std::string_view> parts) {
  static const std::string key = [] {
    std::string k(32, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(k.data()), static_cast<int>(k.size())) != 1) {
      throw std::runtime_error("RAND_bytes failed");
    }
    return k;
  }();
  std::string message;
  for (auto part : parts) message.append(part).push_back('\0');
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), mac, &mac_len);
  OPENSSL_cleanse(message.data(), message.size());
  return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

PasswordHash hash_password_for_config(std::string_view username, std::string_view password) {
  static std::mutex mu;
  static std::unordered_map<std::string, PasswordHash> known;
  std::string id = process_keyed_digest({username, password});
  {
    std::lock_guard lock(mu);
    if (auto it = known.find(id); it != known.end()) return it->second;
  }
  PasswordHash hash = hash_password(password);
  std::lock_guard lock(mu);
  if (known.size() >= 200000) known.clear();  // bounded: far above any real credential count
  known.emplace(std::move(id), hash);
  return hash;
}

}  // namespace portico::crypto
