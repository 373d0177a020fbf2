// Salted, slow password hashes for basic-auth credentials: PBKDF2-HMAC-SHA256 through
// OpenSSL. Plain passwords are hashed when a configuration is loaded and never kept.
#pragma once

#include <string>
#include <string_view>

namespace portico::crypto {

struct PasswordHash {
  std::string salt;    // 16 random bytes
  std::string digest;  // 32 bytes
  int iterations = 0;
};

// ~6 ms per hash on the development machine (python3 hashlib.pbkdf2_hmac, the same OpenSSL
// code): slow enough to make guessing costly; the basic-auth plugin remembers
// recent verdicts so that clients do not pay it on every request (plugins/basic-auth).
inline constexpr int kPasswordIterations = 20000;

PasswordHash hash_password(std::string_view password, int iterations = kPasswordIterations);
// hash_password() for configuration loading: the same (username, password) pair loaded
// again (every reload re-reads the file) gets its earlier hash back instead of paying
// PBKDF2 again. The process remembers pairs by an HMAC under a random per-process key
// (never the password); bounded, thread-safe.
PasswordHash hash_password_for_config(std::string_view username, std::string_view password);

// Constant-time comparison of the derived key.
bool verify_password(std::string_view password, const PasswordHash& hash);

}  // namespace portico::crypto
