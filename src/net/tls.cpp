#include "net/tls.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <boost/asio/error.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

#include "net/session_tickets.hpp"
#include "net/tls_client.hpp"
#include "net/sni_table.hpp"

namespace portico::net {
namespace {

// Mozilla's "intermediate" configuration (v5.7): Kong's default ssl_cipher_suite. TLS 1.3
// suites are OpenSSL's defaults (all three AEADs); DHE uses the RFC 7919 groups (auto).
constexpr const char* kIntermediateCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr memory_bio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

// OpenSSL's latest queued error as text, and the queue emptied.
std::string openssl_error(std::string_view what) {
  unsigned long code = ERR_get_error();
  std::string text(what);
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    const char* reason = ERR_reason_error_string(code);
    text += ": ";
    text += reason != nullptr ? reason : buf;
  }
  ERR_clear_error();
  return text;
}

namespace {

// OpenSSL loads certificates and keys with the same calls for a context (every connection
// made from it) and for one connection (a health probe's); these overloads let one loader
// serve both.
int use_leaf(SSL_CTX* ctx, X509* x) { return SSL_CTX_use_certificate(ctx, x); }
int use_leaf(SSL* ssl, X509* x) { return SSL_use_certificate(ssl, x); }
int add_chain(SSL_CTX* ctx, X509* x) { return SSL_CTX_add0_chain_cert(ctx, x); }
int add_chain(SSL* ssl, X509* x) { return SSL_add0_chain_cert(ssl, x); }
int use_key(SSL_CTX* ctx, EVP_PKEY* k) { return SSL_CTX_use_PrivateKey(ctx, k); }
int use_key(SSL* ssl, EVP_PKEY* k) { return SSL_use_PrivateKey(ssl, k); }
int key_matches(SSL_CTX* ctx) { return SSL_CTX_check_private_key(ctx); }
int key_matches(SSL* ssl) { return SSL_check_private_key(ssl); }

// The leaf certificate, then every further certificate of the chain.
template <typename Target>
bool load_chain(Target* target, std::string_view pem, std::string& error) {
  BioPtr bio = memory_bio(pem);
  X509* leaf = PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr);
  if (leaf == nullptr) {
    error = openssl_error("the certificate is not a PEM certificate");
    return false;
  }
  bool ok = use_leaf(target, leaf) == 1;
  X509_free(leaf);
  if (!ok) {
    error = openssl_error("the certificate cannot be used");
    return false;
  }
  while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (add_chain(target, extra) != 1) {  // takes ownership on success
      X509_free(extra);
      error = openssl_error("a chain certificate cannot be used");
      return false;
    }
  }
  ERR_clear_error();  // (the loop ends on "no start line")
  return true;
}

template <typename Target>
bool load_key(Target* target, std::string_view pem, std::string& error) {
  BioPtr bio = memory_bio(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    error = openssl_error("the key is not a PEM private key");
    return false;
  }
  bool ok = use_key(target, key) == 1;
  EVP_PKEY_free(key);
  if (!ok || key_matches(target) != 1) {
    error = openssl_error("the key does not match the certificate");
    return false;
  }
  return true;
}

}  // namespace

bool use_certificate_chain(SSL_CTX* ctx, std::string_view pem, std::string& error) { return load_chain(ctx, pem, error); }
bool use_private_key(SSL_CTX* ctx, std::string_view pem, std::string& error) { return load_key(ctx, pem, error); }

bool use_client_certificate(SSL* ssl, std::string_view cert_pem, std::string_view key_pem, std::string& error) {
  if (load_chain(ssl, cert_pem, error) && load_key(ssl, key_pem, error)) return true;
  error = "client certificate: " + error;
  return false;
}

namespace {

// Where a TLS connection finds its SniTable during the handshake (SSL ex data).
int sni_table_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// The servername callback (OpenSSL calls it for every ClientHello, with or without SNI):
// moves the connection to the context of the certificate its name selects.
int choose_certificate(SSL* ssl, int*, void*) {
  const auto* table = static_cast<const SniTable*>(SSL_get_ex_data(ssl, sni_table_index()));
  if (table == nullptr) return SSL_TLSEXT_ERR_OK;
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  const TlsServerContext* chosen = table->find(name != nullptr ? std::string_view(name) : std::string_view{});
  if (chosen != nullptr && chosen->native() != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, chosen->native());
  return SSL_TLSEXT_ERR_OK;
}

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
std::unique_ptr<X509, X509Deleter> parse_certificate(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  return std::unique_ptr<X509, X509Deleter>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}
std::unique_ptr<EVP_PKEY, PkeyDeleter> parse_key(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  return std::unique_ptr<EVP_PKEY, PkeyDeleter>(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}
// OpenSSL's reason for the last failure, lower case, the queue emptied.
std::string openssl_reason() {
  unsigned long code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? reason : "not PEM";
}

// Set on a connection whose listener speaks HTTP/2 (SSL ex data; any non-null value).
int offers_h2_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// ALPN: h2 when the listener speaks it and the client offers it, else HTTP/1.1 when the
// client offers it; otherwise no protocol is agreed and the connection goes on (a client
// offering only h2 to an HTTP/1.1 listener then learns it gets none). The callback is the
// same on every context, so it holds after SNI moved the connection to another one.
int select_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  static constexpr unsigned char kBoth[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  const bool h2 = SSL_get_ex_data(ssl, offers_h2_index()) != nullptr;
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, h2 ? kBoth : kHttp11, h2 ? sizeof kBoth : sizeof kHttp11, in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// SSL_get_error() reads the thread's OpenSSL error queue: an error another user of OpenSSL
// left there (a jwt signature that did not verify) would turn "wait for the socket" into a
// failure. Emptying it costs far more than looking (about 800 instructions a call), so look.
inline void drop_stale_errors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

}  // namespace

TlsCertificate self_signed_certificate() {
  return self_signed_certificate("P-256", "localhost", 10L * 365, "DNS:localhost,IP:127.0.0.1,IP:::1");
}

TlsCertificate self_signed_certificate(const char* curve, const std::string& common_name, long days,
                                       const std::string& subject_alt_names) {
  EVP_PKEY* key = EVP_EC_gen(curve);
  X509* cert = X509_new();
  X509_set_version(cert, 2);  // v3
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7F;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), days * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Portico"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_set_pubkey(cert, key);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san = subject_alt_names.empty()
                            ? nullptr
                            : X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, subject_alt_names.c_str());
  if (san != nullptr) {
    X509_add_ext(cert, san, -1);
    X509_EXTENSION_free(san);
  }
  X509_sign(cert, key, EVP_sha256());
  BioPtr cert_bio(BIO_new(BIO_s_mem())), key_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cert_bio.get(), cert);
  PEM_write_bio_PrivateKey(key_bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  TlsCertificate out{bio_text(cert_bio.get()), bio_text(key_bio.get())};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

std::string certificate_problem(std::string_view cert_pem) {
  ERR_clear_error();
  if (parse_certificate(cert_pem)) return "";
  return "invalid certificate: " + openssl_reason();
}

std::string key_problem(std::string_view key_pem) {
  ERR_clear_error();
  if (parse_key(key_pem)) return "";
  return "invalid key: " + openssl_reason();
}

bool certificate_matches_key(std::string_view cert_pem, std::string_view key_pem) {
  auto cert = parse_certificate(cert_pem);
  auto key = parse_key(key_pem);
  bool matches = cert && key && EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key.get()) == 1;
  ERR_clear_error();
  return matches;
}

bool same_key_type(std::string_view cert_pem, std::string_view other_cert_pem) {
  auto a = parse_certificate(cert_pem);
  auto b = parse_certificate(other_cert_pem);
  bool same = a && b && EVP_PKEY_get_base_id(X509_get0_pubkey(a.get())) == EVP_PKEY_get_base_id(X509_get0_pubkey(b.get()));
  ERR_clear_error();
  return same;
}

std::string ca_certificate_problem(std::string_view cert_pem) {
  static constexpr std::string_view kTag = "-----BEGIN CERTIFICATE-----";
  std::size_t first = cert_pem.find(kTag);
  if (first != std::string_view::npos && cert_pem.find(kTag, first + kTag.size()) != std::string_view::npos) {
    return "please submit only one certificate at a time";
  }
  ERR_clear_error();
  auto cert = parse_certificate(cert_pem);
  if (!cert) return "invalid certificate: " + openssl_reason();
  if (X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0) {
    return "certificate expired, \"Not After\" time is in the past";
  }
  if (X509_check_ca(cert.get()) == 0 || (X509_get_extension_flags(cert.get()) & EXFLAG_CA) == 0) {
    return "certificate does not appear to be a CA because it is missing the \"CA\" basic constraint";
  }
  return "";
}

std::string certificate_digest(std::string_view cert_pem) {
  auto cert = parse_certificate(cert_pem);
  ERR_clear_error();
  if (!cert) return "";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(cert.get(), EVP_sha256(), digest, &size) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

bool read_pem_file(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

namespace {
// OpenSSL asks when a client sent status_request: the chosen certificate's staple, if any.
// (The handshake's context is the one SNI chose: its callback and argument are that one's.)
int staple_ocsp_response(SSL* ssl, void* arg) {
  const auto* context = static_cast<const TlsServerContext*>(arg);
  auto der = context->ocsp_response(SSL_get_certificate(ssl));
  if (!der || der->empty()) return SSL_TLSEXT_ERR_NOACK;
  auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(der->size()));  // OpenSSL frees it
  if (copy == nullptr) return SSL_TLSEXT_ERR_NOACK;
  std::memcpy(copy, der->data(), der->size());
  SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(der->size()));
  return SSL_TLSEXT_ERR_OK;
}
}  // namespace

std::shared_ptr<TlsServerContext> TlsServerContext::create(const TlsCertificate& certificate, std::string& error) {
  // OpenSSL's socket BIO writes with write(2), which raises SIGPIPE when the peer has gone
  // (Asio's own sends pass MSG_NOSIGNAL): a server ignores it, and sees EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    error = openssl_error("cannot create a TLS context");
    return nullptr;
  }
  std::shared_ptr<TlsServerContext> made(new TlsServerContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx, kIntermediateCiphers);
  SSL_CTX_set_dh_auto(ctx, 1);
  // No renegotiation (a DoS lever), no compression (CRIME); a client closing without
  // close_notify is an end of stream, as for plain HTTP.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Partial writes: a write returns the whole records it sent before the socket filled.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  // Read ahead: one read(2) takes what the socket has (a record's header and body come in one
  // call, not two); SSL_has_pending() then also counts bytes read but not yet decrypted.
  SSL_CTX_set_read_ahead(ctx, 1);
  apply_tls_session_settings(ctx);  // session cache, timeout, rotating ticket keys
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  SSL_CTX_set_tlsext_servername_callback(ctx, choose_certificate);
  SSL_CTX_set_tlsext_status_cb(ctx, staple_ocsp_response);
  SSL_CTX_set_tlsext_status_arg(ctx, made.get());
  if (!use_certificate_chain(ctx, certificate.cert_pem, error) || !use_private_key(ctx, certificate.key_pem, error)) {
    return nullptr;
  }
  // The alternative pair fills the slot of its own key type (OpenSSL keeps one certificate
  // per type and picks by the client's signature algorithms); chain certificates added next
  // belong to it.
  if (!certificate.cert_alt_pem.empty() &&
      (!use_certificate_chain(ctx, certificate.cert_alt_pem, error) || !use_private_key(ctx, certificate.key_alt_pem, error))) {
    error = "alternative certificate: " + error;
    return nullptr;
  }
  return made;
}

TlsServerContext::~TlsServerContext() { SSL_CTX_free(ctx_); }

void TlsServerContext::set_ocsp_response(const X509* leaf, std::shared_ptr<const std::string> der) const {
  std::lock_guard lock(ocsp_mutex_);
  ocsp_leaf_ = leaf;
  ocsp_response_ = std::move(der);
}

std::shared_ptr<const std::string> TlsServerContext::ocsp_response(const X509* chosen) const {
  std::lock_guard lock(ocsp_mutex_);
  if (chosen == nullptr || chosen != ocsp_leaf_) return nullptr;
  return ocsp_response_;
}


TlsStream::TlsStream(std::shared_ptr<const TlsServerContext> context, int fd)
    : ssl_(SSL_new(context->native())) {
  context_ = std::move(context);
  SSL_set_fd(ssl_, fd);
  SSL_set_accept_state(ssl_);
}

TlsStream::TlsStream(std::shared_ptr<const TlsClientContext> context, int fd, const std::string& server_name,
                     std::string session_key)
    : session_key_(std::move(session_key)), ssl_(SSL_new(context->native())) {
  SSL_set_fd(ssl_, fd);
  SSL_set_connect_state(ssl_);
  if (!context->prepare(ssl_, server_name, session_key_)) {
    unusable_ = true;
    failure_ = "no server name to verify the certificate against";
  }
  context_ = std::move(context);
}

TlsStream::~TlsStream() {
  // A client that ends a connection without close_notify makes OpenSSL mark its session not
  // resumable; an upstream connection is closed properly so the next one can resume.
  if (!SSL_is_server(ssl_)) shutdown();
  SSL_free(ssl_);
}

void TlsStream::offer_h2() {
  static int yes = 1;
  SSL_set_ex_data(ssl_, offers_h2_index(), &yes);
}

void TlsStream::select_certificates_from(std::shared_ptr<const SniTable> table) {
  sni_table_ = std::move(table);
  SSL_set_ex_data(ssl_, sni_table_index(), const_cast<SniTable*>(sni_table_.get()));
}

void TlsStream::fail_or_wait(int result, Want& want, boost::system::error_code& ec) {
  int code = SSL_get_error(ssl_, result);
  switch (code) {
    case SSL_ERROR_WANT_READ:
      want = Want::read;
      ec = boost::asio::error::would_block;
      return;
    case SSL_ERROR_WANT_WRITE:
      want = Want::write;
      ec = boost::asio::error::would_block;
      return;
    case SSL_ERROR_ZERO_RETURN:
      want = Want::nothing;
      ec = boost::asio::error::eof;
      return;
    case SSL_ERROR_SYSCALL:
      want = Want::nothing;
      shut_down_ = true;  // (no close_notify after a broken connection)
      if (errno != 0) {
        ec.assign(errno, boost::system::system_category());
        failure_ = ec.message();
      } else {
        ec = boost::asio::error::eof;
      }
      ERR_clear_error();
      return;
    default:
      want = Want::nothing;
      shut_down_ = true;
      failure_ = openssl_error("TLS error");
      ec = boost::asio::error::connection_aborted;
      return;
  }
}

TlsStream::Want TlsStream::handshake(boost::system::error_code& ec) {
  if (unusable_) {
    ec = boost::asio::error::access_denied;
    shut_down_ = true;  // nothing was sent: no close_notify either
    return Want::nothing;
  }
  drop_stale_errors();
  errno = 0;
  int result = SSL_do_handshake(ssl_);
  Want want = Want::nothing;
  ec = {};
  if (result != 1) {
    fail_or_wait(result, want, ec);
    // A client that refused the upstream's certificate says why ("unable to get local issuer
    // certificate", "hostname mismatch").
    long verified = SSL_get_verify_result(ssl_);
    if (ec && ec != boost::asio::error::would_block && !SSL_is_server(ssl_) && verified != X509_V_OK) {
      failure_ = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verified);
    }
  }
  return want;
}

std::size_t TlsStream::read(char* data, std::size_t size, Want& want, boost::system::error_code& ec) {
  drop_stale_errors();
  errno = 0;
  std::size_t n = 0;
  want = Want::nothing;
  ec = {};
  int result = SSL_read_ex(ssl_, data, size, &n);
  if (result == 1) return n;
  fail_or_wait(result, want, ec);
  return 0;
}

std::size_t TlsStream::write(const char* data, std::size_t size, Want& want, boost::system::error_code& ec) {
  want = Want::nothing;
  ec = {};
  if (size == 0) return 0;
  drop_stale_errors();
  errno = 0;
  std::size_t n = 0;
  int result = SSL_write_ex(ssl_, data, size, &n);
  if (result == 1) return n;
  fail_or_wait(result, want, ec);
  return 0;
}

void TlsStream::shutdown() {
  if (shut_down_ || SSL_is_init_finished(ssl_) != 1) return;
  shut_down_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // sends close_notify if the socket takes it; the reply is not awaited
  ERR_clear_error();
}

std::string_view TlsStream::version() const { return SSL_get_version(ssl_); }

std::string_view TlsStream::alpn() const {
  const unsigned char* data = nullptr;
  unsigned int size = 0;
  SSL_get0_alpn_selected(ssl_, &data, &size);
  return data == nullptr ? std::string_view{} : std::string_view(reinterpret_cast<const char*>(data), size);
}

std::string_view TlsStream::server_name() const {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name == nullptr ? std::string_view{} : std::string_view(name);
}

}  // namespace portico::net
