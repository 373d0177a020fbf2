#include "crypto/aead.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>
#include <stdexcept>

namespace portico::crypto {

namespace {

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

// One cipher context per thread, reset for each message: creating one costs an allocation and
// the cipher's lookup, which a cookie checked on every request should not pay.
EVP_CIPHER_CTX* thread_cipher_ctx() {
  thread_local CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  EVP_CIPHER_CTX_reset(ctx.get());
  return ctx.get();
}

// The cipher, fetched from OpenSSL's provider once: EVP_aes_256_gcm() makes OpenSSL 3 fetch the
// implementation again at every EVP_*Init_ex (measurable on a cookie opened per request).
const EVP_CIPHER* aes_256_gcm() {
  static const EVP_CIPHER* const cipher = [] {
    const EVP_CIPHER* fetched = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    return fetched != nullptr ? fetched : EVP_aes_256_gcm();
  }();
  return cipher;
}

}  // namespace

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(bytes(out), static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
  return out;
}

std::string sha256(std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(bytes(data), data.size(), bytes(out));
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes(data), data.size(), bytes(out), &len) == nullptr) {
    throw std::runtime_error("HMAC failed");
  }
  return out;
}

std::string hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info, std::size_t length) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr),
                                                                  &EVP_PKEY_CTX_free);
  std::string out(length, '\0');
  std::size_t out_len = length;
  bool ok = ctx && EVP_PKEY_derive_init(ctx.get()) == 1 && EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) == 1 &&
            EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), bytes(salt), static_cast<int>(salt.size())) == 1 &&
            EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), bytes(ikm), static_cast<int>(ikm.size())) == 1 &&
            EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), bytes(info), static_cast<int>(info.size())) == 1 &&
            EVP_PKEY_derive(ctx.get(), bytes(out), &out_len) == 1 && out_len == length;
  if (!ok) throw std::runtime_error("HKDF failed");
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Aes256Gcm::Aes256Gcm(std::string_view key) : key_(key) {
  if (key_.size() != kKeySize) throw std::invalid_argument("AES-256-GCM needs a 32-byte key");
}

std::string Aes256Gcm::seal(std::string_view nonce, std::string_view aad, std::string_view plaintext) const {
  if (nonce.size() != kNonceSize) throw std::invalid_argument("AES-256-GCM needs a 12-byte nonce");
  EVP_CIPHER_CTX* ctx = thread_cipher_ctx();
  std::string out(plaintext.size() + kTagSize, '\0');
  int len = 0, total = 0;
  bool ok = EVP_EncryptInit_ex(ctx, aes_256_gcm(), nullptr, bytes(key_), bytes(nonce)) == 1 &&
            (aad.empty() || EVP_EncryptUpdate(ctx, nullptr, &len, bytes(aad), static_cast<int>(aad.size())) == 1) &&
            EVP_EncryptUpdate(ctx, bytes(out), &len, bytes(plaintext), static_cast<int>(plaintext.size())) == 1;
  total = len;
  ok = ok && EVP_EncryptFinal_ex(ctx, bytes(out) + total, &len) == 1;
  total += len;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, bytes(out) + total) == 1;
  if (!ok || static_cast<std::size_t>(total) != plaintext.size()) throw std::runtime_error("AES-256-GCM encryption failed");
  return out;
}

std::optional<std::string> Aes256Gcm::open(std::string_view nonce, std::string_view aad, std::string_view sealed) const {
  if (nonce.size() != kNonceSize || sealed.size() < kTagSize) return std::nullopt;
  const std::string_view ciphertext = sealed.substr(0, sealed.size() - kTagSize);
  std::string tag(sealed.substr(ciphertext.size()));
  EVP_CIPHER_CTX* ctx = thread_cipher_ctx();
  std::string out(ciphertext.size(), '\0');
  int len = 0, total = 0;
  bool ok = EVP_DecryptInit_ex(ctx, aes_256_gcm(), nullptr, bytes(key_), bytes(nonce)) == 1 &&
            (aad.empty() || EVP_DecryptUpdate(ctx, nullptr, &len, bytes(aad), static_cast<int>(aad.size())) == 1) &&
            EVP_DecryptUpdate(ctx, bytes(out), &len, bytes(ciphertext), static_cast<int>(ciphertext.size())) == 1;
  total = len;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, bytes(tag)) == 1 &&
       EVP_DecryptFinal_ex(ctx, bytes(out) + total, &len) == 1;
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace portico::crypto
