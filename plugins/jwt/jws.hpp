// JSON Web Signatures for the jwt plugin (RFC 7515 / 7518 / 8037): strict token decoding
// and signature verification through OpenSSL; signing for the tokens Portico mints itself
// (openid-connect's issue_jwt and private_key_jwt client assertions: jwt/mint.hpp).
//
// The verifying key fixes the algorithm: a token's "alg" must equal the key's, so a token
// can never pick "none", or an HMAC over a public key's bytes, or any other confusion.
#pragma once

#include <openssl/evp.h>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace portico::plugins::jwt {

enum class Alg { HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA };

// Exact, case-sensitive names (RFC 7518); "none" and every other spelling give nullopt.
std::optional<Alg> parse_alg(std::string_view name);
std::string_view alg_name(Alg alg);
inline bool is_hmac(Alg a) { return a == Alg::HS256 || a == Alg::HS384 || a == Alg::HS512; }

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::shared_ptr<EVP_PKEY>;

struct HmacPads;  // an HMAC key's precomputed inner and outer hash states (jws.cpp)

// A key a token is checked against; a key holding a secret (HMAC) or a private key also signs.
struct VerifyKey {
  Alg alg = Alg::HS256;
  std::string secret;                      // HMAC algorithms
  std::shared_ptr<const HmacPads> pads;    // HMAC algorithms: the key schedule, computed once
  Pkey pkey;           // the others: matched to alg (RSA for RS/PS, the curve for ES, Ed25519/Ed448)
};

// For a Kong jwt_secret: `material` is the secret (HS*, base64-decoded first when
// `secret_is_base64`) or a PEM public key. nullopt with `error` when unusable.
std::optional<VerifyKey> make_key(Alg alg, std::string_view material, bool secret_is_base64, std::string& error);
// For an already parsed public key (JWKS); checks it suits `alg`.
std::optional<VerifyKey> make_key(Alg alg, Pkey pkey, std::string& error);

// A decoded compact JWS: header.payload.signature, each strict base64url, header and
// payload strict JSON objects.
// Its JSON lives in a monotonic resource with an inline buffer: decoding a usual token
// does not touch the heap for it.
struct Token {
  Token() = default;
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;

 private:
  unsigned char buffer_[2048];
  boost::json::monotonic_resource resource_{buffer_, sizeof buffer_};

 public:
  boost::json::storage_ptr storage() { return boost::json::storage_ptr(&resource_); }
  std::string_view signing_input;  // "header.payload" as received
  std::string signature;           // decoded bytes
  boost::json::object header{storage()};
  boost::json::object claims{storage()};
};
bool decode_token(std::string_view compact, Token& out, std::string& error);

// Whether `signature` is valid for `signing_input` under `key` (constant time for HMAC).
bool verify_signature(const VerifyKey& key, std::string_view signing_input, std::string_view signature);

// A key to sign with: `material` is the secret (HS*) or an unencrypted PEM private key (PKCS #8
// or traditional) suiting `alg`. nullopt with `error` when unusable.
std::optional<VerifyKey> make_signing_key(Alg alg, std::string_view material, std::string& error);
// The signature of `signing_input` (ES*: R || S as JWS wants it); nullopt when the key cannot
// sign (a public key).
std::optional<std::string> sign(const VerifyKey& key, std::string_view signing_input);

}  // namespace portico::plugins::jwt
