#include "plugins/openid-connect/pkce.hpp"

#include "crypto/aead.hpp"
#include "crypto/base64.hpp"

namespace portico::plugins::openid_connect {

std::string random_token() { return crypto::base64url_encode(crypto::random_bytes(32)); }

std::string s256_challenge(std::string_view verifier) { return crypto::base64url_encode(crypto::sha256(verifier)); }

Pkce make_pkce() {
  Pkce p;
  p.verifier = random_token();
  p.challenge = s256_challenge(p.verifier);
  return p;
}

}  // namespace portico::plugins::openid_connect
