// Strict base64 (RFC 4648): standard alphabet with padding (Basic credentials) and
// base64url without padding (JWT segments). Anything else - wrong alphabet, bad or
// missing padding, non-zero trailing bits, whitespace - is rejected, so one token has
// exactly one accepted spelling.
#pragma once

#include <string>
#include <string_view>

namespace portico::crypto {

// Standard alphabet, '=' padding required.
bool base64_decode(std::string_view in, std::string& out);
// URL alphabet, no padding (RFC 7515 section 2).
bool base64url_decode(std::string_view in, std::string& out);
std::string base64url_encode(std::string_view in);
// Standard alphabet with padding.
std::string base64_encode(std::string_view in);

}  // namespace portico::crypto
