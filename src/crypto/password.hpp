// Salted, slow password hashes for basic-auth credentials: PBKDF2-HMAC-SHA256 through
// OpenSSL. Plain passwords are hashed when a configuration is loaded and never kept.
#pragma once

#include <initializer_list>
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
// HMAC-SHA256 of the parts (each followed by a NUL byte) under a key drawn at random when
// the process starts: an identifier for secrets (passwords) that lets the process recognise
// them again without storing them or a fast unkeyed hash of them.
std::string process_keyed_digest(std::initializer_list<std::string_view> parts);

// hash_password() for configuration loading: the same (username, password) pair loaded
// again (every reload re-reads the file) gets its earlier hash back instead of paying
// PBKDF2 again. The process remembers pairs by an HMAC under a random per-process key
// (never the password); bounded, thread-safe.
PasswordHash hash_password_for_config(std::string_view username, std::string_view password);

// The stored form of a hash, for the store and declarative exports:
//   pbkdf2-sha256$<iterations>$<salt, base64>$<derived key, base64>
// decode_password_hash() refuses anything else (and iterations outside 1,000..10,000,000).
std::string encode_password_hash(const PasswordHash& hash);
bool decode_password_hash(std::string_view text, PasswordHash& out);

// Constant-time comparison of the derived key.
bool verify_password(std::string_view password, const PasswordHash& hash);

}  // namespace portico::crypto
