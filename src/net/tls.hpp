// TLS for the proxy's listeners: server contexts, and a non-blocking TLS stream over a
// socket the proxy already drives.
//
// Why OpenSSL directly on the file descriptor rather than asio::ssl::stream: the proxy's
// read and write path (proxy/io.hpp) tries a plain non-blocking call first and waits for
// readiness only when the kernel is not ready; a TlsStream keeps that shape (a call that
// would block says which direction it waits for, and the caller waits with the socket's
// async_wait), so plain and TLS connections share one request lifecycle.
//
// One TlsServerContext (an SSL_CTX) serves every worker: OpenSSL's SSL_CTX is safe to share
// between threads for SSL_new(), so a session ticket one worker issued is accepted by all.
#pragma once

#include <openssl/ssl.h>

#include <boost/system/error_code.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace portico::net {

class SniTable;
class TlsClientContext;

// A certificate chain (leaf first) and its private key, as PEM text; optionally a second
// pair of another key type (Kong's cert_alt / key_alt: an RSA and an ECDSA certificate, the
// client's signature algorithms choose).
struct TlsCertificate {
  std::string cert_pem;
  std::string key_pem;
  std::string cert_alt_pem;  // empty: none
  std::string key_alt_pem;
};

// Kong's checks of a certificate entity, with its messages; each "" when fine.
std::string certificate_problem(std::string_view cert_pem);  // "invalid certificate: ..."
std::string key_problem(std::string_view key_pem);           // "invalid key: ..."
// Whether the certificate's public key is the key's (both already valid).
bool certificate_matches_key(std::string_view cert_pem, std::string_view key_pem);
// Whether two valid certificates have keys of the same type (RSA, EC, Ed25519...).
bool same_key_type(std::string_view cert_pem, std::string_view other_cert_pem);

// Kong's checks of a ca_certificates entity ("" when fine): one certificate only, valid,
// not expired, with the CA basic constraint.
std::string ca_certificate_problem(std::string_view cert_pem);
// SHA-256 of the certificate's DER, lowercase hex (Kong's cert_digest); "" when it does not parse.
std::string certificate_digest(std::string_view cert_pem);

// For the TLS contexts (server and client): a PEM chain (leaf first) or private key loaded
// into `ctx`; false with `error` saying what failed. OpenSSL's latest queued error as text
// after `what`, the queue emptied.
bool use_certificate_chain(SSL_CTX* ctx, std::string_view pem, std::string& error);
bool use_private_key(SSL_CTX* ctx, std::string_view pem, std::string& error);
std::string openssl_error(std::string_view what);
// A client certificate (PEM chain, leaf first) and its key for one connection; false with `error`.
bool use_client_certificate(SSL* ssl, std::string_view cert_pem, std::string_view key_pem, std::string& error);

// A self-signed ECDSA P-256 certificate for "localhost", valid ten years, made at start-up
// when no certificate is configured (as Kong does for its default listener certificate).
TlsCertificate self_signed_certificate();
// The same with the curve ("P-256", "P-384"), subject common name, validity and
// subjectAltName ("DNS:a,IP:b"; empty: none) given.
TlsCertificate self_signed_certificate(const char* curve, const std::string& common_name, long days,
                                       const std::string& subject_alt_names);

// The text of a PEM file; false with `error` naming the file.
bool read_pem_file(const std::string& path, std::string& out, std::string& error);

// A server SSL_CTX: the certificate, TLS 1.2 and 1.3 only, Mozilla's "intermediate" cipher
// policy (Kong's default ssl_cipher_suite), server cipher preference off (as Kong),
// ALPN "http/1.1" (and "h2" on connections that offer it), session tickets and a shared
// session cache.
class TlsServerContext {
 public:
  // nullptr with `error` when the certificate or key does not load, or they do not match.
  // Every context Portico makes has the same protocol settings, so a handshake may move from
  // the listener's context to the one of the certificate its SNI selects (SniTable).
  static std::shared_ptr<TlsServerContext> create(const TlsCertificate& certificate, std::string& error);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;
  SSL_CTX* native() const { return ctx_; }

  // OCSP stapling (net/ocsp_stapler.hpp keeps it fresh): the DER OCSP response for the
  // certificate `leaf`, sent to clients that ask (status_request) when the handshake chose
  // that certificate. Empty: nothing is stapled. Safe from any thread.
  void set_ocsp_response(const X509* leaf, std::shared_ptr<const std::string> der) const;
  std::shared_ptr<const std::string> ocsp_response(const X509* chosen) const;

 private:
  explicit TlsServerContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
  mutable std::mutex ocsp_mutex_;
  mutable const X509* ocsp_leaf_ = nullptr;
  mutable std::shared_ptr<const std::string> ocsp_response_;
};

// One connection's TLS session, on a non-blocking socket's file descriptor. Every call
// returns at once: when OpenSSL needs the socket readable or writable first, the call says
// so in `want` (and sets `ec` to would_block); the caller waits and calls again with the
// same arguments (OpenSSL's rule for a write it had begun).
class TlsStream {
 public:
  enum class Want { nothing, read, write };

  // The server side of a client's connection. Keeps `context` alive as long as the stream.
  TlsStream(std::shared_ptr<const TlsServerContext> context, int fd);
  // The client side of a connection to an upstream: `server_name` is sent as SNI (unless an
  // IP literal) and verified when the context verifies; `session_key` names the session to
  // resume and to remember (the connection's address and server name).
  TlsStream(std::shared_ptr<const TlsClientContext> context, int fd, const std::string& server_name,
            std::string session_key);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // The certificates SNI chooses from during the handshake (null: the listener's own); kept
  // alive until the handshake is done, so a configuration reload cannot pull it away.
  void select_certificates_from(std::shared_ptr<const SniTable> table);
  // Server side, before the handshake: ALPN offers "h2" (preferred) besides "http/1.1".
  void offer_h2();
  // One step of the server handshake: Want::nothing with no `ec` when it is complete.
  Want handshake(boost::system::error_code& ec);
  // Decrypted bytes into `data`. 0 with ec = eof when the peer closed (close_notify or a
  // TCP close), would_block with `want` when nothing is there yet.
  std::size_t read(char* data, std::size_t size, Want& want, boost::system::error_code& ec);
  // Encrypts and sends up to `size` bytes; returns how many were taken (all of them, or the
  // whole records written before the socket filled), would_block with `want` otherwise.
  std::size_t write(const char* data, std::size_t size, Want& want, boost::system::error_code& ec);
  // Whether decrypted bytes wait in OpenSSL's buffer (the socket may then have nothing).
  bool has_pending() const { return SSL_has_pending(ssl_) == 1; }
  // Sends close_notify, once, without waiting for the peer's.
  void shutdown();

  // The negotiated protocol ("TLSv1.3"), ALPN ("http/1.1", empty when none) and SNI name.
  std::string_view version() const;
  std::string_view alpn() const;
  std::string_view server_name() const;
  // Why the last call failed, for logs (OpenSSL's reason, or the system error; for a client,
  // why the upstream's certificate was refused).
  const std::string& failure() const { return failure_; }

 private:
  // Maps an OpenSSL result to `want` / `ec`.
  void fail_or_wait(int result, Want& want, boost::system::error_code& ec);

  std::shared_ptr<const void> context_;  // a TlsServerContext or a TlsClientContext
  std::shared_ptr<const SniTable> sni_table_;
  std::string session_key_;  // client side: where the context remembers this connection's session
  bool unusable_ = false;    // client side: the name to verify could not be set (handshake refused)
  SSL* ssl_;
  bool shut_down_ = false;
  std::string failure_;
};

}  // namespace portico::net
