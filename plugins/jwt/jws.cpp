#include "plugins/jwt/jws.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/sha.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <cstdio>
#include <cstring>

#include "crypto/base64.hpp"
#include "plugins/jwt/strict_json.hpp"

namespace portico::plugins::jwt {
namespace {

struct AlgInfo {
  Alg alg;
  std::string_view name;
};
constexpr std::array<AlgInfo, 13> kAlgs{{{Alg::HS256, "HS256"},
                                         {Alg::HS384, "HS384"},
                                         {Alg::HS512, "HS512"},
                                         {Alg::RS256, "RS256"},
                                         {Alg::RS384, "RS384"},
                                         {Alg::RS512, "RS512"},
                                         {Alg::PS256, "PS256"},
                                         {Alg::PS384, "PS384"},
                                         {Alg::PS512, "PS512"},
                                         {Alg::ES256, "ES256"},
                                         {Alg::ES384, "ES384"},
                                         {Alg::ES512, "ES512"},
                                         {Alg::EdDSA, "EdDSA"}}};

const EVP_MD* digest_of(Alg a) {
  switch (a) {
    case Alg::HS256: case Alg::RS256: case Alg::PS256: case Alg::ES256: return EVP_sha256();
    case Alg::HS384: case Alg::RS384: case Alg::PS384: case Alg::ES384: return EVP_sha384();
    case Alg::HS512: case Alg::RS512: case Alg::PS512: case Alg::ES512: return EVP_sha512();
    case Alg::EdDSA: return nullptr;
  }
  return nullptr;
}

bool is_rsa(Alg a) { return a >= Alg::RS256 && a <= Alg::PS512; }
bool is_pss(Alg a) { return a >= Alg::PS256 && a <= Alg::PS512; }
bool is_ec(Alg a) { return a >= Alg::ES256 && a <= Alg::ES512; }

// Bytes of each of R and S in an ES signature (RFC 7518 section 3.4), and the curve.
std::size_t ec_coordinate_size(Alg a) { return a == Alg::ES256 ? 32 : a == Alg::ES384 ? 48 : 66; }
const char* ec_curve(Alg a) { return a == Alg::ES256 ? "prime256v1" : a == Alg::ES384 ? "secp384r1" : "secp521r1"; }

std::string ec_group_name(EVP_PKEY* k) {
  char name[64] = {0};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1) return "";
  return std::string(name, len);
}

// R || S (fixed width) to the DER ECDSA-Sig-Value OpenSSL verifies.
bool ec_raw_to_der(Alg a, std::string_view raw, std::string& der) {
  std::size_t n = ec_coordinate_size(a);
  if (raw.size() != 2 * n) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(n), nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data() + n), static_cast<int>(n), nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  int len = i2d_ECDSA_SIG(sig, nullptr);
  bool ok = len > 0;
  if (ok) {
    der.resize(static_cast<std::size_t>(len));
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    ok = i2d_ECDSA_SIG(sig, &p) == len;
  }
  ECDSA_SIG_free(sig);
  return ok;
}

// The DER ECDSA-Sig-Value OpenSSL signs to R || S, each `ec_coordinate_size` bytes (RFC 7518 3.4).
std::optional<std::string> ec_der_to_raw(Alg a, const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig == nullptr) return std::nullopt;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  const std::size_t size = ec_coordinate_size(a);
  std::string raw(2 * size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  const bool ok = BN_bn2binpad(r, out, static_cast<int>(size)) == static_cast<int>(size) &&
                  BN_bn2binpad(s, out + size, static_cast<int>(size)) == static_cast<int>(size);
  ECDSA_SIG_free(sig);
  if (!ok) return std::nullopt;
  return raw;
}

}  // namespace

// HMAC (RFC 2104) with the key's inner and outer hash states computed once, when the key
// is made: a token then costs only its own hash blocks, and copying a state is a struct
// copy (no allocation). OpenSSL 3's HMAC() / EVP_MAC redo the key schedule or duplicate
// provider contexts per call, which cost several times the hashing itself here. The
// low-level SHA functions are deprecated in OpenSSL 3 but remain its fastest path.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
struct HmacPads {
  Alg alg;
  SHA256_CTX inner256, outer256;  // HS256
  SHA512_CTX inner512, outer512;  // HS384 (SHA-384 uses SHA512_CTX) and HS512
};

static std::shared_ptr<const HmacPads> make_pads(Alg alg, std::string_view secret) {
  auto pads = std::make_shared<HmacPads>();
  pads->alg = alg;
  std::size_t block = alg == Alg::HS256 ? 64 : 128;
  unsigned char key[128] = {0};
  if (secret.size() > block) {  // long keys are hashed first
    if (alg == Alg::HS256) SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), key);
    else if (alg == Alg::HS384) SHA384(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), key);
    else SHA512(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), key);
  } else {
    std::memcpy(key, secret.data(), secret.size());
  }
  unsigned char ipad[128], opad[128];
  for (std::size_t i = 0; i < block; ++i) {
    ipad[i] = key[i] ^ 0x36;
    opad[i] = key[i] ^ 0x5c;
  }
  if (alg == Alg::HS256) {
    SHA256_Init(&pads->inner256);
    SHA256_Update(&pads->inner256, ipad, block);
    SHA256_Init(&pads->outer256);
    SHA256_Update(&pads->outer256, opad, block);
  } else {
    auto init = alg == Alg::HS384 ? SHA384_Init : SHA512_Init;
    init(&pads->inner512);
    SHA512_Update(&pads->inner512, ipad, block);
    init(&pads->outer512);
    SHA512_Update(&pads->outer512, opad, block);
  }
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(ipad, sizeof ipad);
  OPENSSL_cleanse(opad, sizeof opad);
  return pads;
}

// Writes the MAC of `input` into `out` (64 bytes available); returns its length.
static std::size_t hmac(const HmacPads& pads, std::string_view input, unsigned char* out) {
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  unsigned char inner[64];
  if (pads.alg == Alg::HS256) {
    SHA256_CTX ctx = pads.inner256;
    SHA256_Update(&ctx, data, input.size());
    SHA256_Final(inner, &ctx);
    ctx = pads.outer256;
    SHA256_Update(&ctx, inner, 32);
    SHA256_Final(out, &ctx);
    return 32;
  }
  // SHA384_Update / _Final are SHA512's with a 48-byte digest.
  std::size_t len = pads.alg == Alg::HS384 ? 48 : 64;
  SHA512_CTX ctx = pads.inner512;
  SHA512_Update(&ctx, data, input.size());
  if (pads.alg == Alg::HS384) SHA384_Final(inner, &ctx);
  else SHA512_Final(inner, &ctx);
  ctx = pads.outer512;
  SHA512_Update(&ctx, inner, len);
  if (pads.alg == Alg::HS384) SHA384_Final(out, &ctx);
  else SHA512_Final(out, &ctx);
  return len;
}
#pragma GCC diagnostic pop

std::optional<Alg> parse_alg(std::string_view name) {
  for (const auto& a : kAlgs) {
    if (a.name == name) return a.alg;
  }
  return std::nullopt;
}

std::string_view alg_name(Alg alg) {
  for (const auto& a : kAlgs) {
    if (a.alg == alg) return a.name;
  }
  return "?";
}

std::optional<VerifyKey> make_key(Alg alg, Pkey pkey, std::string& error) {
  if (!pkey) {
    error = "no key";
    return std::nullopt;
  }
  int type = EVP_PKEY_get_base_id(pkey.get());
  if (is_rsa(alg)) {
    if (type != EVP_PKEY_RSA) {
      error = "an RSA key is required for " + std::string(alg_name(alg));
      return std::nullopt;
    }
    if (EVP_PKEY_get_bits(pkey.get()) < 2048) {
      error = "RSA keys shorter than 2048 bits are refused";
      return std::nullopt;
    }
  } else if (is_ec(alg)) {
    if (type != EVP_PKEY_EC || ec_group_name(pkey.get()) != ec_curve(alg)) {
      error = std::string("an EC key on curve ") + ec_curve(alg) + " is required for " + std::string(alg_name(alg));
      return std::nullopt;
    }
  } else if (alg == Alg::EdDSA) {
    if (type != EVP_PKEY_ED25519 && type != EVP_PKEY_ED448) {
      error = "an Ed25519 or Ed448 key is required for EdDSA";
      return std::nullopt;
    }
  } else {
    error = "HMAC algorithms take a secret, not a public key";
    return std::nullopt;
  }
  VerifyKey key;
  key.alg = alg;
  key.pkey = std::move(pkey);
  return key;
}

// A PEM public key, or an unencrypted PEM private key (`private_key`), checked against `alg`.
static std::optional<VerifyKey> key_from_pem(Alg alg, std::string_view pem, bool private_key, std::string& error) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* raw = bio == nullptr ? nullptr
                  // An encrypted key is refused, never prompted for (OpenSSL's default would ask the terminal).
                  : private_key  ? PEM_read_bio_PrivateKey(bio, nullptr, [](char*, int, int, void*) { return 0; }, nullptr)
                                 : PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (raw == nullptr) {
    error = private_key ? "not an unencrypted PEM private key" : "not a PEM public key";
    return std::nullopt;
  }
  return make_key(alg, Pkey(raw, PkeyDeleter{}), error);
}

std::optional<VerifyKey> make_key(Alg alg, std::string_view material, bool secret_is_base64, std::string& error) {
  if (is_hmac(alg)) {
    VerifyKey key;
    key.alg = alg;
      if (secret_is_base64) {
      if (!crypto::base64_decode(material, key.secret) && !crypto::base64url_decode(material, key.secret)) {
        error = "secret is not valid base64 (secret_is_base64 is set)";
        return std::nullopt;
      }
    } else {
      key.secret = std::string(material);
    }
    if (key.secret.empty()) {
      error = "empty secret";
      return std::nullopt;
    }
    key.pads = make_pads(alg, key.secret);
    return key;
  }
  return key_from_pem(alg, material, false, error);
}

bool decode_token(std::string_view compact, Token& out, std::string& error) {
  auto dot1 = compact.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : compact.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || compact.find('.', dot2 + 1) != std::string_view::npos) {
    error = "invalid JWT";  // not three segments (JWE's five included)
    return false;
  }
  std::string_view header_b64 = compact.substr(0, dot1);
  std::string_view payload_b64 = compact.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view signature_b64 = compact.substr(dot2 + 1);
  thread_local std::string header_json, payload_json;  // scratch, reused
  if (header_b64.empty() || payload_b64.empty() || !crypto::base64url_decode(header_b64, header_json) ||
      !crypto::base64url_decode(payload_b64, payload_json) || !crypto::base64url_decode(signature_b64, out.signature)) {
    error = "invalid base64url encoding";
    return false;
  }
  std::string why;
  if (!parse_strict_object(header_json, out.header, why, out.storage())) {
    error = "invalid header: " + why;
    return false;
  }
  if (!parse_strict_object(payload_json, out.claims, why, out.storage())) {
    error = "invalid claims: " + why;
    return false;
  }
  out.signing_input = compact.substr(0, dot2);
  return true;
}

// RFC 7518: RS* is PKCS #1 v1.5, PS* is PSS with a salt as long as the digest.
static bool set_rsa_padding(EVP_PKEY_CTX* pctx, Alg alg) {
  if (is_pss(alg)) {
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  return !is_rsa(alg) || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
}

bool verify_signature(const VerifyKey& key, std::string_view signing_input, std::string_view signature) {
  const EVP_MD* md = digest_of(key.alg);
  if (is_hmac(key.alg)) {
    unsigned char mac[64];
    std::size_t mac_len = hmac(*key.pads, signing_input, mac);
    return signature.size() == mac_len && CRYPTO_memcmp(mac, signature.data(), mac_len) == 0;
  }
  std::string der;
  if (is_ec(key.alg)) {
    if (!ec_raw_to_der(key.alg, signature, der)) return false;
    signature = der;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, key.pkey.get()) == 1 && set_rsa_padding(pctx, key.alg);
  ok = ok && EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                              reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::optional<VerifyKey> make_signing_key(Alg alg, std::string_view material, std::string& error) {
  if (is_hmac(alg)) return make_key(alg, material, false, error);
  return key_from_pem(alg, material, true, error);
}

std::optional<std::string> sign(const VerifyKey& key, std::string_view signing_input) {
  if (is_hmac(key.alg)) {
    unsigned char mac[64];
    const std::size_t mac_len = hmac(*key.pads, signing_input, mac);
    return std::string(reinterpret_cast<const char*>(mac), mac_len);
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return std::nullopt;
  EVP_PKEY_CTX* pctx = nullptr;
  const auto* input = reinterpret_cast<const unsigned char*>(signing_input.data());
  std::size_t len = 0;
  bool ok = EVP_DigestSignInit(ctx, &pctx, digest_of(key.alg), nullptr, key.pkey.get()) == 1 &&
            set_rsa_padding(pctx, key.alg) && EVP_DigestSign(ctx, nullptr, &len, input, signing_input.size()) == 1;
  std::string signature(len, '\0');
  ok = ok && EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &len, input, signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return std::nullopt;
  signature.resize(len);
  if (is_ec(key.alg)) return ec_der_to_raw(key.alg, signature);
  return signature;
}

}  // namespace portico::plugins::jwt
