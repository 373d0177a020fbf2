// Hex encoding and the message digests Portico names things with (not for passwords:
// crypto/password.hpp).
#pragma once

#include <string>
#include <string_view>

namespace portico::crypto {

std::string hex_encode(std::string_view bytes);  // lowercase
std::string sha1_hex(std::string_view data);     // 40 characters (Redis script names)
std::string sha256_hex(std::string_view data);   // 64 characters (cache keys)

}  // namespace portico::crypto
