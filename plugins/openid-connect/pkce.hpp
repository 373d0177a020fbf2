// Proof Key for Code Exchange (RFC 7636) with the S256 method: the verifier stays in the
// sealed pre-login cookie, the challenge goes to the authorization endpoint, the verifier to
// the token endpoint; a code stolen on its way back is useless without the verifier.
#pragma once

#include <string>
#include <string_view>

namespace portico::plugins::openid_connect {

struct Pkce {
  std::string verifier;   // 43 characters: base64url of 32 random bytes (RFC 7636 4.1)
  std::string challenge;  // BASE64URL(SHA256(verifier)) (RFC 7636 4.2)
};

Pkce make_pkce();
std::string s256_challenge(std::string_view verifier);

// 32 random bytes as base64url (43 characters): state, nonce, and other unguessable values.
std::string random_token();

}  // namespace portico::plugins::openid_connect
