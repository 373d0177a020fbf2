// TLS session tickets with rotating keys, shared by every worker and every listener.
//
// A ticket is the server's encrypted session state, kept by the client: resuming with it skips
// the certificate and key exchange work of a full handshake. OpenSSL's built-in ticket key is
// one random key for the life of the process; a key that never changes makes every session
// ever resumed decryptable by whoever steals it (no forward secrecy). The ring here encrypts
// new tickets with a key that is replaced every `rotation`, and keeps older keys for decryption
// as long as a ticket they sealed may still be valid (the session timeout), so rotation never
// costs a client its resumption. A ticket opened with an older key is renewed with the current one.
//
// Settings follow Kong's (nginx's) ssl_session_tickets and ssl_session_timeout; the rotation
// period is Portico's (nginx rotates only when the operator replaces ssl_session_ticket_key files).
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>

namespace portico::net {

struct TlsSessionSettings {
  bool tickets = true;                               // Kong's ssl_session_tickets
  std::chrono::seconds timeout{24 * 3600};           // Kong's ssl_session_timeout (1d)
  std::chrono::seconds ticket_key_rotation{3600};    // a new encryption key this often
};

// The process's settings, applied to every server context made after the call (the gateway
// sets them once at start, before its listeners).
void set_tls_session_settings(const TlsSessionSettings& settings);
const TlsSessionSettings& tls_session_settings();

// Applies the session settings to a server context: session cache and timeout, and either the
// rotating ticket keys or no tickets at all.
void apply_tls_session_settings(SSL_CTX* ctx);

}  // namespace portico::net
