// Active health checks (Kong's healthchecks.active): probes every target address of
// upstreams that enable them, on the control thread's io_context, so workers never wait
// on a probe. Results feed the same TargetHealth objects the balancers read.
//
// Each address has its own probe loop: it waits healthy.interval while the address is
// healthy and unhealthy.interval while it is not (an interval of 0 means "do not probe in
// that state"), and at most `concurrency` probes of one upstream run at once. https probes
// verify the certificate chain (system CA store) and name unless https_verify_certificate
// is false.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <vector>

#include "config/snapshot.hpp"

namespace portico::proxy {

class ActiveHealthChecker {
 public:
  explicit ActiveHealthChecker(boost::asio::io_context& io) : io_(io) {}
  ~ActiveHealthChecker() { stop(); }

  // Replaces the probe loops with those the snapshot asks for. Control thread only.
  void apply(std::shared_ptr<const config::Snapshot> snapshot);
  // Stops every probe loop (shutdown).
  void stop();

  // What one probe found (exposed for tests).
  enum class ProbeResult { success, http_failure, tcp_failure, timeout, neutral };

 private:
  struct Generation;  // the loops of one applied snapshot
  boost::asio::awaitable<void> probe_loop(std::shared_ptr<Generation> gen, const config::UpstreamRuntime* upstream,
                                          const Endpoint* endpoint, std::shared_ptr<int> running);
  // `client_certificate`: the upstream's (Kong's client_certificate), shown on https probes; may be null.
  boost::asio::awaitable<ProbeResult> probe(const config::ActiveHealthcheck& active, const Endpoint& endpoint,
                                            const config::CertificateConfig* client_certificate);
  // The TLS client context for https probes (created on first use).
  boost::asio::ssl::context& tls_context(bool verify);

  boost::asio::io_context& io_;
  std::unique_ptr<boost::asio::ssl::context> tls_verify_, tls_no_verify_;
  std::shared_ptr<Generation> current_;
};

}  // namespace portico::proxy
