#include "net/session_tickets.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>

namespace portico::net {
namespace {

using Clock = std::chrono::steady_clock;

TlsSessionSettings g_settings;

struct TicketKey {
  unsigned char name[16];
  unsigned char aes_key[32];   // AES-256-CBC
  unsigned char hmac_key[32];  // HMAC-SHA256
  Clock::time_point created;
};

// The keys, newest first: front() seals new tickets, the others only open tickets they sealed.
// Handshakes on every worker thread call in, so the ring is under a mutex; a handshake does
// thousands of times the work of this lookup, so the lock is not contended in practice.
class TicketKeyRing {
 public:
  // The key for a new ticket, made or rotated first when due.
  TicketKey current() {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    if (keys_.empty() || now - keys_.front().created >= g_settings.ticket_key_rotation) {
      keys_.push_front(fresh_key(now));
    }
    // A key stops sealing when the next one starts; tickets it sealed live `timeout` longer.
    // At most kMaxKeys are kept (a short rotation with a long timeout): older tickets then
    // cost a full handshake, never an unbounded ring.
    while (keys_.size() > 1 && (now - keys_[keys_.size() - 2].created >= g_settings.timeout || keys_.size() > kMaxKeys)) {
      keys_.pop_back();
    }
    return keys_.front();
  }
  // The key named in a ticket; `is_current` false when a newer key seals now (renew the ticket).
  bool find(const unsigned char name[16], TicketKey& out, bool& is_current) {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      if (std::memcmp(keys_[i].name, name, sizeof keys_[i].name) != 0) continue;
      // Key i stopped sealing when key i-1 was made; past that plus the timeout, its tickets expired.
      if (i > 0 && now - keys_[i - 1].created >= g_settings.timeout) return false;
      out = keys_[i];
      is_current = i == 0 && now - keys_[0].created < g_settings.ticket_key_rotation;
      return true;
    }
    return false;
  }
 private:
  static TicketKey fresh_key(Clock::time_point now) {
    TicketKey key;
    RAND_bytes(key.name, sizeof key.name);
    RAND_bytes(key.aes_key, sizeof key.aes_key);
    RAND_bytes(key.hmac_key, sizeof key.hmac_key);
    key.created = now;
    return key;
  }

  static constexpr std::size_t kMaxKeys = 256;
  std::mutex mutex_;
  std::deque<TicketKey> keys_;
};

TicketKeyRing& ring() {
  static TicketKeyRing keys;
  return keys;
}

bool set_hmac_key(EVP_MAC_CTX* hmac, TicketKey& key) {
  static char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac_key, sizeof key.hmac_key),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  return EVP_MAC_CTX_set_params(hmac, params) == 1;
}

// OpenSSL's ticket key callback: `enc` 1 to seal a new ticket (fill the name and IV), 0 to open
// one (find the key by name). Returns 1 (ok), 2 (ok, renew the ticket), 0 (no such key: a full
// handshake), -1 (error).
int ticket_key_callback(SSL* ssl, unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                        EVP_MAC_CTX* hmac, int enc) {
  TicketKey key;
  if (enc == 1) {
    key = ring().current();
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) return -1;
    std::memcpy(key_name, key.name, sizeof key.name);
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes_key, iv) != 1) return -1;
    return set_hmac_key(hmac, key) ? 1 : -1;
  }
  bool is_current = false;
  if (!ring().find(key_name, key, is_current)) return 0;
  if (!set_hmac_key(hmac, key)) return -1;
  if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes_key, iv) != 1) return -1;
  // TLS 1.3 always renews (as OpenSSL's own ticket keys do): a resumed connection gets fresh
  // tickets, so a client that keeps resuming always holds one. Without them it would fall
  // back to a full handshake every other connection.
  return is_current && SSL_version(ssl) < TLS1_3_VERSION ? 1 : 2;
}

}  // namespace

void set_tls_session_settings(const TlsSessionSettings& settings) { g_settings = settings; }
const TlsSessionSettings& tls_session_settings() { return g_settings; }

void apply_tls_session_settings(SSL_CTX* ctx) {
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  static constexpr unsigned char kSessionContext[] = "portico";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_timeout(ctx, static_cast<long>(std::max<std::chrono::seconds::rep>(g_settings.timeout.count(), 1)));
  if (g_settings.tickets) {
    SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_callback);
  } else {
    // As nginx's ssl_session_tickets off: TLS 1.2 resumes by session id from the server's
    // cache; TLS 1.3 gets stateful tickets (ids into the same cache).
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  }
}

}  // namespace portico::net
