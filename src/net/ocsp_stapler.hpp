// OCSP stapling (--ssl-stapling, nginx's `ssl_stapling on`): the gateway asks each
// certificate's OCSP responder (the URL in its Authority Information Access) whether the
// certificate is good, and hands the signed answer to clients in the TLS handshake, so they
// need not ask the CA themselves.
//
// On the control thread, one coroutine per server context (the --ssl-cert one and each
// `certificates` entity's): it builds the OCSP request for the leaf and its issuer (the next
// certificate of the configured chain), POSTs it with net::http_send, verifies the answer
// (signed by the issuer or a responder it delegated to; this_update/next_update valid within
// five minutes of clock skew; the certificate's status "good") and stores it in the context
// (TlsServerContext::set_ocsp_response), which the handshakes of every worker read. It asks
// again half-way to next_update (between one minute and one hour), and a minute after a
// failure. As nginx: a revoked or unknown status, or an answer that does not verify, is logged
// and not stapled; a certificate without an OCSP URL or without its issuer in the chain is
// logged once and never stapled. Handshakes never wait for the responder.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "net/tls.hpp"

namespace portico::net {

class OcspStapler {
 public:
  explicit OcspStapler(boost::asio::io_context& control) : control_(control) {}

  // Keeps `context`'s staple fresh from now on, while the context lives (a context seen
  // before is not tracked twice). Control thread only.
  void track(const std::shared_ptr<const TlsServerContext>& context);

  // After a failure, how long before asking again; and the bounds of the refresh delay.
  static constexpr std::chrono::seconds kRetryAfterFailure{60};
  static constexpr std::chrono::seconds kMinRefresh{60};
  static constexpr std::chrono::seconds kMaxRefresh{3600};

 private:
  boost::asio::awaitable<void> keep_fresh(std::weak_ptr<const TlsServerContext> context);

  boost::asio::io_context& control_;
  // Contexts whose coroutine runs (an expired entry's coroutine ends at its next wake-up).
  std::map<const TlsServerContext*, std::weak_ptr<const TlsServerContext>> tracked_;
};

// What one fetch gave: the DER answer to staple (empty: none) and when to ask again; `stop`
// when asking can never work (no OCSP URL, no issuer), with `error` saying why.
struct OcspFetch {
  std::string der;
  const X509* leaf = nullptr;          // the certificate it is about
  std::chrono::seconds valid_for{0};   // until its next_update
  std::chrono::seconds refresh{OcspStapler::kRetryAfterFailure};
  bool stop = false;
  std::string error;
};

// One request to the context's responder, its answer verified.
boost::asio::awaitable<OcspFetch> fetch_ocsp_response(boost::asio::io_context& io, const TlsServerContext& context);

}  // namespace portico::net
