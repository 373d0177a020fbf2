#include "net/ocsp_stapler.hpp"

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <openssl/err.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "net/http_fetch.hpp"

namespace portico::net {

namespace asio = boost::asio;

namespace {

template <typename T, void (*Free)(T*)>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
using CertId = std::unique_ptr<OCSP_CERTID, Freer<OCSP_CERTID, OCSP_CERTID_free>>;
using Request = std::unique_ptr<OCSP_REQUEST, Freer<OCSP_REQUEST, OCSP_REQUEST_free>>;
using Response = std::unique_ptr<OCSP_RESPONSE, Freer<OCSP_RESPONSE, OCSP_RESPONSE_free>>;
using BasicResponse = std::unique_ptr<OCSP_BASICRESP, Freer<OCSP_BASICRESP, OCSP_BASICRESP_free>>;
using Store = std::unique_ptr<X509_STORE, Freer<X509_STORE, X509_STORE_free>>;
struct CertStackFreer {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }  // (the certificates are not owned)
};
struct StringStackFreer {
  void operator()(STACK_OF(OPENSSL_STRING) * s) const { X509_email_free(s); }
};

// The configured chain's certificate that issued `leaf`, or null.
X509* issuer_of(SSL_CTX* ctx, X509* leaf) {
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx, &chain);
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    X509* candidate = sk_X509_value(chain, i);
    if (X509_check_issued(candidate, leaf) == X509_V_OK) return candidate;
  }
  return nullptr;
}

std::string first_ocsp_url(X509* leaf) {
  std::unique_ptr<STACK_OF(OPENSSL_STRING), StringStackFreer> urls(X509_get1_ocsp(leaf));
  if (!urls || sk_OPENSSL_STRING_num(urls.get()) == 0) return "";
  return sk_OPENSSL_STRING_value(urls.get(), 0);
}

std::string der_of(OCSP_REQUEST* request) {
  int size = i2d_OCSP_REQUEST(request, nullptr);
  if (size <= 0) return "";
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_OCSP_REQUEST(request, &out);
  return der;
}

// The seconds from now until `when` (negative when past).
long long seconds_until(const ASN1_GENERALIZEDTIME* when) {
  int days = 0, seconds = 0;
  if (ASN1_TIME_diff(&days, &seconds, nullptr, when) != 1) return 0;
  return static_cast<long long>(days) * 86400 + seconds;
}

// Checks `body` as the answer about `id`; the answer to staple, or `error`.
OcspFetch verify_answer(const std::string& body, OCSP_CERTID* id, X509* issuer) {
  OcspFetch result;
  const auto* in = reinterpret_cast<const unsigned char*>(body.data());
  Response response(d2i_OCSP_RESPONSE(nullptr, &in, static_cast<long>(body.size())));
  if (!response) {
    result.error = "the responder's answer is not an OCSP response";
    return result;
  }
  int status = OCSP_response_status(response.get());
  if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    result.error = std::string("the responder answered ") + OCSP_response_status_str(status);
    return result;
  }
  BasicResponse basic(OCSP_response_get1_basic(response.get()));
  Store store(X509_STORE_new());
  std::unique_ptr<STACK_OF(X509), CertStackFreer> certs(sk_X509_new_null());
  if (!basic || !store || !certs) {
    result.error = "the OCSP answer cannot be read";
    return result;
  }
  // Signed by the issuer itself, or by a responder certificate the issuer signed for OCSP
  // (the issuer may be an intermediate: it is trusted as it is, a partial chain).
  X509_STORE_add_cert(store.get(), issuer);
  X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN);
  sk_X509_push(certs.get(), issuer);
  if (OCSP_basic_verify(basic.get(), certs.get(), store.get(), 0) != 1) {
    ERR_clear_error();
    result.error = "the OCSP answer's signature does not verify against the certificate's issuer";
    return result;
  }
  int cert_status = 0, reason = 0;
  ASN1_GENERALIZEDTIME *revoked_at = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (OCSP_resp_find_status(basic.get(), id, &cert_status, &reason, &revoked_at, &this_update, &next_update) != 1) {
    result.error = "the OCSP answer is about another certificate";
    return result;
  }
  if (OCSP_check_validity(this_update, next_update, 300, -1) != 1) {
    ERR_clear_error();
    result.error = "the OCSP answer is not valid now (this_update / next_update)";
    return result;
  }
  if (cert_status != V_OCSP_CERTSTATUS_GOOD) {
    result.error = std::string("the responder says the certificate is ") + OCSP_cert_status_str(cert_status);
    return result;
  }
  result.der = body;
  long long left = next_update != nullptr ? seconds_until(next_update) : OcspStapler::kMaxRefresh.count() * 2;
  result.refresh = std::clamp(std::chrono::seconds(left / 2), OcspStapler::kMinRefresh, OcspStapler::kMaxRefresh);
  result.valid_for = std::chrono::seconds(std::max(0LL, left));
  return result;
}

}  // namespace

asio::awaitable<OcspFetch> fetch_ocsp_response(asio::io_context& io, const TlsServerContext& context) {
  OcspFetch result;
  SSL_CTX* ctx = context.native();
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  result.leaf = leaf;
  X509* issuer = leaf != nullptr ? issuer_of(ctx, leaf) : nullptr;
  std::string url = leaf != nullptr ? first_ocsp_url(leaf) : "";
  if (url.empty() || issuer == nullptr) {
    result.stop = true;
    result.error = url.empty() ? "the certificate names no OCSP responder (Authority Information Access)"
                               : "the certificate's issuer is not in its configured chain";
    co_return result;
  }
  CertId id(OCSP_cert_to_id(nullptr, leaf, issuer));
  Request request(OCSP_REQUEST_new());
  if (!id || !request || OCSP_request_add0_id(request.get(), OCSP_CERTID_dup(id.get())) == nullptr) {
    result.error = "cannot build the OCSP request";
    co_return result;
  }
  OutgoingRequest post;
  post.method = "POST";
  post.url = url;
  post.header_lines = "Content-Type: application/ocsp-request\r\nAccept: application/ocsp-response\r\n";
  post.body = der_of(request.get());
  FetchOptions options;
  options.max_body = 256 * 1024;
  FetchResult answer = co_await http_send(io, std::move(post), options);
  if (answer.status != 200) {
    result.error = "OCSP responder " + url + ": " +
                   (answer.status == 0 ? answer.error : "status " + std::to_string(answer.status));
    co_return result;
  }
  OcspFetch verified = verify_answer(answer.body, id.get(), issuer);
  verified.leaf = leaf;
  if (!verified.error.empty()) verified.error = "OCSP responder " + url + ": " + verified.error;
  co_return verified;
}

void OcspStapler::track(const std::shared_ptr<const TlsServerContext>& context) {
  if (!context) return;
  // Contexts of replaced certificates are gone: forget them (their coroutines end on waking).
  std::erase_if(tracked_, [](const auto& kept) { return kept.second.expired(); });
  auto& entry = tracked_[context.get()];
  if (!entry.expired()) return;
  entry = context;
  asio::co_spawn(control_, keep_fresh(context), asio::detached);
}

asio::awaitable<void> OcspStapler::keep_fresh(std::weak_ptr<const TlsServerContext> weak) {
  asio::steady_timer timer(control_);
  auto expires = std::chrono::steady_clock::time_point{};  // of the staple in place (none: epoch)
  for (;;) {
    std::chrono::seconds wait;
    {
      std::shared_ptr<const TlsServerContext> context = weak.lock();
      if (!context) break;
      OcspFetch fetched = co_await fetch_ocsp_response(control_, *context);
      if (fetched.stop) {
        spdlog::warn("OCSP stapling: {}; not stapled", fetched.error);
        break;
      }
      auto now = std::chrono::steady_clock::now();
      if (!fetched.der.empty()) {
        context->set_ocsp_response(fetched.leaf, std::make_shared<const std::string>(std::move(fetched.der)));
        expires = now + fetched.valid_for;
        spdlog::debug("OCSP stapling: a fresh answer, asking again in {} s", fetched.refresh.count());
      } else {
        spdlog::warn("OCSP stapling: {}", fetched.error);
        if (now >= expires) context->set_ocsp_response(nullptr, nullptr);  // never staple an expired answer
      }
      wait = fetched.refresh;
    }
    timer.expires_after(wait);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
  }
}

}  // namespace portico::net
