// TLS to upstream services (Kong's https services): the client side of net/tls.hpp.
//
// A TlsClientContext is one service's TLS settings made into an SSL_CTX: whether the upstream's
// certificate is verified (Kong's tls_verify; off by default, as Kong's proxy_ssl_verify), the
// trust store (the service's ca_certificates, else the system's), the chain depth (Kong's
// tls_verify_depth, nginx's default 1) and a client certificate for mTLS (Kong's
// client_certificate). Contexts are shared by every worker and kept across configuration
// reloads while the settings are unchanged.
//
// Sessions are resumed (nginx's proxy_ssl_session_reuse): the context keeps the last session
// per connection key (address, server name), so a new connection to the same upstream skips
// the full handshake. The cache is shared by workers, under a mutex taken once per handshake.
#pragma once

#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace portico::net {

struct TlsClientSettings {
  bool verify = false;
  int verify_depth = 1;
  std::vector<std::string> ca_pems;  // trusted CAs when verifying; empty: the system's store
  std::string client_cert_pem;       // PEM chain shown to the upstream (mTLS); empty: none
  std::string client_key_pem;
  bool http2 = false;  // offer h2 by ALPN (gRPC services) instead of http/1.1
};

class TlsClientContext {
 public:
  // nullptr with `error` when a CA, the client certificate or its key does not load.
  static std::shared_ptr<TlsClientContext> create(const TlsClientSettings& settings, std::string& error);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  SSL_CTX* native() const { return ctx_; }
  bool verifies() const { return verify_; }

  // Prepares a new connection's SSL: server name (SNI unless an IP literal, and the name the
  // certificate must carry when verifying) and the session to resume for `session_key`.
  // False when verifying and the name cannot be checked (empty, or OpenSSL refused it): the
  // connection must not go on.
  bool prepare(SSL* ssl, const std::string& server_name, const std::string& session_key) const;

 private:
  TlsClientContext(SSL_CTX* ctx, bool verify) : ctx_(ctx), verify_(verify) {}
  static int remember_session(SSL* ssl, SSL_SESSION* session);

  SSL_CTX* ctx_;
  bool verify_;
  mutable std::mutex sessions_mutex_;
  mutable std::map<std::string, SSL_SESSION*, std::less<>> sessions_;  // owned references
};

}  // namespace portico::net
