#include "crypto/password.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

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

bool verify_password(std::string_view password, const PasswordHash& hash) {
  if (hash.iterations <= 0 || hash.digest.size() != 32) return false;
  std::string candidate = derive(password, hash.salt, hash.iterations);
  return CRYPTO_memcmp(candidate.data(), hash.digest.data(), candidate.size()) == 0;
}

}  // namespace portico::crypto
