#include "proxy/health_checker.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "http/h1_parser.hpp"
#include "proxy/grpc_health_probe.hpp"
#include "proxy/io.hpp"

namespace portico::proxy {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct ActiveHealthChecker::Generation {
  std::shared_ptr<const config::Snapshot> snapshot;
  bool stopped = false;
  std::vector<std::shared_ptr<asio::steady_timer>> timers;  // cancelled on stop
};

namespace {

std::chrono::milliseconds seconds_to_ms(double s) {
  return std::chrono::milliseconds(static_cast<long long>(s * 1000));
}

// A gRPC health call's answer as a probe result: NOT_SERVING (or an error status) counts as
// an HTTP failure would, a broken call as a TCP failure.
ActiveHealthChecker::ProbeResult grpc_outcome(GrpcHealth health) {
  switch (health) {
    case GrpcHealth::serving: return ActiveHealthChecker::ProbeResult::success;
    case GrpcHealth::not_serving: return ActiveHealthChecker::ProbeResult::http_failure;
    case GrpcHealth::failed: break;
  }
  return ActiveHealthChecker::ProbeResult::tcp_failure;
}

// GET http_path over an established stream (plain or TLS) and judges the status.
template <typename Stream>
asio::awaitable<ActiveHealthChecker::ProbeResult> http_probe(Stream& stream, const config::ActiveHealthcheck& active,
                                                             const Endpoint& endpoint) {
  using ProbeResult = ActiveHealthChecker::ProbeResult;
  std::string request = "GET " + active.http_path + " HTTP/1.1\r\nHost: " + endpoint.host_header +
                        "\r\nUser-Agent: portico-healthcheck\r\nConnection: close\r\n";
  for (const auto& [name, values] : active.headers) {
    for (const auto& v : values) request += name + ": " + v + "\r\n";
  }
  request += "\r\n";
  auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(request), use_tuple);
  (void)wn;
  if (wec) co_return ProbeResult::tcp_failure;
  std::string buffer;
  http::ResponseHead head;
  http::ParserLimits limits;
  char chunk[4096];
  for (;;) {
    auto [rec, n] = co_await stream.async_read_some(asio::buffer(chunk), use_tuple);
    if (rec) co_return ProbeResult::tcp_failure;
    buffer.append(chunk, n);
    auto outcome = http::parse_response_head(buffer, limits, false, head);
    if (outcome.state == http::ParseState::error) co_return ProbeResult::tcp_failure;
    if (outcome.state == http::ParseState::complete) break;
  }
  switch (classify_status(head.status, active.healthy, active.unhealthy)) {
    case StatusVerdict::success: co_return ProbeResult::success;
    case StatusVerdict::failure: co_return ProbeResult::http_failure;
    case StatusVerdict::neutral: break;
  }
  co_return ProbeResult::neutral;
}

}  // namespace

namespace {
// The upstream's client certificate entity, or null.
const config::CertificateConfig* client_certificate_of(const config::Snapshot& snapshot, const config::UpstreamConfig& upstream) {
  if (upstream.client_certificate.empty()) return nullptr;
  for (const auto& c : snapshot.config.certificates) {
    if (c.id == upstream.client_certificate) return &c;
  }
  return nullptr;
}
}  // namespace

asio::ssl::context& ActiveHealthChecker::tls_context(bool verify) {
  auto& slot = verify ? tls_verify_ : tls_no_verify_;
  if (!slot) {
    slot = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    boost::system::error_code ec;
    slot->set_default_verify_paths(ec);
    slot->set_verify_mode(verify ? asio::ssl::verify_peer : asio::ssl::verify_none, ec);
  }
  return *slot;
}

void ActiveHealthChecker::apply(std::shared_ptr<const config::Snapshot> snapshot) {
  stop();
  auto gen = std::make_shared<Generation>();
  gen->snapshot = std::move(snapshot);
  for (const auto& upstream : gen->snapshot->upstreams) {
    if (!upstream.config->healthchecks.active.enabled()) continue;
    auto running = std::make_shared<int>(0);  // probes in flight for this upstream
    for (const auto& endpoint : gen->snapshot->balancers[upstream.balancer_index]->endpoints()) {
      asio::co_spawn(io_, probe_loop(gen, &upstream, &endpoint, running), asio::detached);
    }
  }
  current_ = std::move(gen);
}

void ActiveHealthChecker::stop() {
  if (!current_) return;
  current_->stopped = true;
  for (auto& t : current_->timers) t->cancel();
  current_.reset();
}

asio::awaitable<void> ActiveHealthChecker::probe_loop(std::shared_ptr<Generation> gen,
                                                      const config::UpstreamRuntime* upstream, const Endpoint* endpoint,
                                                      std::shared_ptr<int> running) {
  const auto& active = upstream->config->healthchecks.active;
  const config::CertificateConfig* client_certificate = client_certificate_of(*gen->snapshot, *upstream->config);
  auto timer = std::make_shared<asio::steady_timer>(io_);
  gen->timers.push_back(timer);
  auto sleep = [&](std::chrono::milliseconds d) -> asio::awaitable<bool> {
    timer->expires_after(d);
    co_await timer->async_wait(use_tuple);
    co_return !gen->stopped;
  };
  while (!gen->stopped) {
    double interval = endpoint->health->healthy() ? active.healthy.interval : active.unhealthy.interval;
    if (interval <= 0) {
      // Not probed in this state; look again soon (passive checks may change it).
      if (!co_await sleep(500ms)) co_return;
      continue;
    }
    if (!co_await sleep(seconds_to_ms(interval))) co_return;
    while (*running >= active.concurrency) {
      if (!co_await sleep(10ms)) co_return;
    }
    ++*running;
    ProbeResult result = co_await probe(active, *endpoint, client_certificate);
    --*running;
    if (gen->stopped) co_return;
    HealthEvent event = HealthEvent::success;
    switch (result) {
      case ProbeResult::success: event = HealthEvent::success; break;
      case ProbeResult::http_failure: event = HealthEvent::http_failure; break;
      case ProbeResult::tcp_failure: event = HealthEvent::tcp_failure; break;
      case ProbeResult::timeout: event = HealthEvent::timeout; break;
      case ProbeResult::neutral: continue;
    }
    if (endpoint->health->report(event, active.healthy, active.unhealthy)) {
      spdlog::warn("upstream '{}' target {} ({}) marked {} by active health checks", upstream->config->name,
                   endpoint->target, endpoint->pool_key, endpoint->health->healthy() ? "healthy" : "unhealthy");
    }
  }
}

asio::awaitable<ActiveHealthChecker::ProbeResult> ActiveHealthChecker::probe(const config::ActiveHealthcheck& active,
                                                                             const Endpoint& endpoint,
                                                                             const config::CertificateConfig* client_certificate) {
  // Shared with the timeout handler, which may run after this frame is gone.
  struct ProbeState {
    explicit ProbeState(asio::io_context& io) : socket(io) {}
    asio::ip::tcp::socket socket;
    bool timed_out = false;
  };
  auto state = std::make_shared<ProbeState>(io_);
  auto& socket = state->socket;
  asio::steady_timer deadline(io_, seconds_to_ms(active.timeout));
  deadline.async_wait([state](const boost::system::error_code& ec) {
    if (ec) return;
    state->timed_out = true;
    boost::system::error_code ignored;
    state->socket.close(ignored);
  });
  auto finish = [&](ProbeResult r) {
    deadline.cancel();
    return state->timed_out ? ProbeResult::timeout : r;
  };
  auto [ec] = co_await socket.async_connect(endpoint.address, use_tuple);
  if (ec) co_return finish(ProbeResult::tcp_failure);
  if (active.type == "tcp") {
    boost::system::error_code ignored;
    socket.close(ignored);
    co_return finish(ProbeResult::success);
  }
  if (active.type == "http") co_return finish(co_await http_probe(socket, active, endpoint));
  if (active.type == "grpc") co_return finish(grpc_outcome(co_await grpc_health_probe(socket, endpoint.host_header, false)));
  // https and grpcs: TLS handshake (SNI and, unless disabled, chain and name verification), then HTTP.
  std::string_view host;
  int port = 0;
  http::split_authority(endpoint.target, host, port);
  std::string server_name = active.https_sni.empty() ? std::string(host) : active.https_sni;
  asio::ssl::stream<asio::ip::tcp::socket&> tls(socket, tls_context(active.https_verify_certificate));
  boost::system::error_code address_ec;
  asio::ip::make_address(server_name, address_ec);
  if (address_ec) SSL_set_tlsext_host_name(tls.native_handle(), server_name.c_str());  // SNI: names only
  if (active.https_verify_certificate) tls.set_verify_callback(asio::ssl::host_name_verification(server_name));
  std::string error;
  if (client_certificate != nullptr &&
      !net::use_client_certificate(tls.native_handle(), client_certificate->cert, client_certificate->key, error)) {
    spdlog::warn("health check of {}: {}", endpoint.target, error);
  }
  const bool grpcs = active.type == "grpcs";
  if (grpcs) {
    static constexpr unsigned char kH2[] = {2, 'h', '2'};
    SSL_set_alpn_protos(tls.native_handle(), kH2, sizeof kH2);
  }
  auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (hec) co_return finish(ProbeResult::tcp_failure);
  if (grpcs) co_return finish(grpc_outcome(co_await grpc_health_probe(tls, endpoint.host_header, true)));
  co_return finish(co_await http_probe(tls, active, endpoint));
}

}  // namespace portico::proxy
