#include "net/tls_client.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <csignal>

#include "net/dns_cache.hpp"
#include "net/tls.hpp"

namespace portico::net {
namespace {

// How many sessions a context remembers; past that it starts over (a bound against a
// configuration that names very many upstream addresses).
constexpr std::size_t kMaxSessions = 4096;

// Where a client connection's session key is, for the new-session callback (SSL ex data).
int session_key_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

bool trust_pem(X509_STORE* store, const std::string& pem, std::string& error) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) {
    error = openssl_error("a CA certificate is not a PEM certificate");
    return false;
  }
  bool ok = X509_STORE_add_cert(store, cert) == 1;
  X509_free(cert);
  // The same CA listed twice is not an error.
  if (!ok && ERR_GET_REASON(ERR_peek_last_error()) == X509_R_CERT_ALREADY_IN_HASH_TABLE) ok = true;
  if (!ok) error = openssl_error("a CA certificate cannot be trusted");
  ERR_clear_error();
  return ok;
}

}  // namespace

std::shared_ptr<TlsClientContext> TlsClientContext::create(const TlsClientSettings& settings, std::string& error) {
  std::signal(SIGPIPE, SIG_IGN);  // (as for the server side: OpenSSL writes with write(2))
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    error = openssl_error("cannot create a TLS context");
    return nullptr;
  }
  std::shared_ptr<TlsClientContext> made(new TlsClientContext(ctx, settings.verify));
  SSL_CTX_set_app_data(ctx, made.get());
  // Kong's lua_ssl_protocols (TLS 1.2 and 1.3); OpenSSL's default suites.
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_read_ahead(ctx, 1);
  static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  static constexpr unsigned char kH2[] = {2, 'h', '2'};
  if (settings.http2) SSL_CTX_set_alpn_protos(ctx, kH2, sizeof kH2);
  else SSL_CTX_set_alpn_protos(ctx, kHttp11, sizeof kHttp11);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, remember_session);
  if (settings.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_verify_depth(ctx, settings.verify_depth);
    if (settings.ca_pems.empty()) {
      if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        error = openssl_error("cannot load the system's trusted certificates");
        return nullptr;
      }
    } else {
      for (const auto& pem : settings.ca_pems) {
        if (!trust_pem(SSL_CTX_get_cert_store(ctx), pem, error)) return nullptr;
      }
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!settings.client_cert_pem.empty()) {
    if (!use_certificate_chain(ctx, settings.client_cert_pem, error) || !use_private_key(ctx, settings.client_key_pem, error)) {
      error = "client certificate: " + error;
      return nullptr;
    }
  }
  return made;
}

TlsClientContext::~TlsClientContext() {
  for (auto& [key, session] : sessions_) SSL_SESSION_free(session);
  SSL_CTX_free(ctx_);
}

bool TlsClientContext::prepare(SSL* ssl, const std::string& server_name, const std::string& session_key) const {
  SSL_set_ex_data(ssl, session_key_index(), const_cast<std::string*>(&session_key));
  bool ip = is_ip_literal(server_name);
  if (!server_name.empty() && !ip) SSL_set_tlsext_host_name(ssl, server_name.c_str());
  if (verify_) {
    // Verifying without a name would accept any trusted certificate: refused instead.
    bool named = false;
    if (ip) {
      named = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str()) == 1;
    } else if (!server_name.empty()) {
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      named = SSL_set1_host(ssl, server_name.c_str()) == 1;
    }
    if (!named) {
      ERR_clear_error();
      return false;
    }
  }
  std::lock_guard lock(sessions_mutex_);
  if (auto it = sessions_.find(session_key); it != sessions_.end()) SSL_set_session(ssl, it->second);
  return true;
}

// OpenSSL hands over each new session (TLS 1.3: each ticket the server sends): kept as the
// one to resume for the connection's key, replacing the previous one.
int TlsClientContext::remember_session(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<const TlsClientContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  const auto* key = static_cast<const std::string*>(SSL_get_ex_data(ssl, session_key_index()));
  if (self == nullptr || key == nullptr || key->empty()) return 0;
  std::lock_guard lock(self->sessions_mutex_);
  if (self->sessions_.size() >= kMaxSessions && self->sessions_.find(*key) == self->sessions_.end()) {
    auto victim = self->sessions_.begin();  // one out, not the whole cache (keys are many only when hosts are)
    SSL_SESSION_free(victim->second);
    self->sessions_.erase(victim);
  }
  SSL_SESSION*& slot = self->sessions_[*key];
  if (slot != nullptr) SSL_SESSION_free(slot);
  slot = session;
  return 1;  // the session is ours now
}

}  // namespace portico::net
