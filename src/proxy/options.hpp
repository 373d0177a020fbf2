// Node settings of the proxy: listeners, limits, timeouts and pool sizes.
// Filled from the command line / PORTICO_* environment (see main.cpp); tests fill it directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "http/h1_parser.hpp"
#include "net/cidr.hpp"
#include "net/dns_cache.hpp"
#include "net/session_tickets.hpp"

namespace portico::proxy {

// The SETTINGS an HTTP/2 listener announces (--http2-* flags; proxy/h2_server.hpp).
struct Http2Settings {
  std::uint32_t max_concurrent_streams = 128;  // nginx's http2_max_concurrent_streams
  std::uint32_t initial_window_size = 65535;   // per stream, for request bodies (RFC 9113's default)
  std::uint32_t max_frame_size = 16384;
  std::uint32_t max_header_list_size = 32768;  // set from --max-header-size
};

struct ProxyOptions {
  // Kong's proxy_listen: "ADDRESS:PORT [ssl] [http2] [backlog=N] ..." (core/listen_spec.hpp);
  // Kong's default.
  std::vector<std::string> proxy_listen{"0.0.0.0:8000", "0.0.0.0:8443 http2 ssl"};
  // Kong's ssl_cert / ssl_cert_key: PEM files of the ssl listeners' certificate (chain first)
  // and key; unset, a self-signed certificate for localhost is made at start.
  std::string ssl_cert;
  std::string ssl_cert_key;
  // Kong's ssl_session_tickets / ssl_session_timeout, and the ticket keys' rotation period.
  net::TlsSessionSettings tls_sessions;
  // nginx's ssl_stapling: OCSP answers fetched from each certificate's responder and stapled
  // (net/ocsp_stapler.hpp). Off by default: it makes the gateway call out to the CAs.
  bool ssl_stapling = false;
  std::string admin_listen = "127.0.0.1:8001";  // "off" disables the admin listener
  std::string admin_token;  // when set, every Admin API request must carry it in Kong-Admin-Token
  int workers = 0;                               // 0: one per core
  std::string access_log = "-";                  // path, "-" for stdout, or "off"
  std::string access_log_format = "portico";     // a preset or an nginx log_format (obs/log_format.hpp)
  // Every request gets an id ($request_id); this header carries it (empty: not sent).
  std::string request_id_header = "X-Portico-Request-Id";
  bool request_id_upstream = true;    // to the service (replacing a client's copy), as Kong's headers_upstream
  bool request_id_downstream = true;  // on every answer to the client, as Kong's headers
  std::string status_listen = "off";  // Kong's status API: GET /status and /metrics only
  std::size_t metrics_max_series = 10000;  // prometheus series (service, route, consumer) per worker
  std::vector<net::Cidr> trusted_ips;            // peers whose X-Forwarded-* are kept
  // Kong's real_ip_header / real_ip_recursive (nginx's realip): from a trusted peer, the
  // client address is taken from this header (the rightmost address; with `recursive`, the
  // rightmost one that is not itself trusted).
  std::string real_ip_header = "X-Real-IP";
  bool real_ip_recursive = false;

  http::ParserLimits limits;
  Http2Settings http2;
  std::uint64_t max_body_size = 0;  // bytes; 0 = unlimited (Kong's default)

  std::chrono::milliseconds client_header_timeout{60000};
  std::chrono::milliseconds client_body_timeout{60000};
  // A request body must arrive at this many bytes per second on average, after a first
  // client_body_timeout (--client-body-min-rate; 0, the default: no rate, as Kong).
  std::uint64_t client_body_min_rate = 0;
  std::chrono::milliseconds keepalive_timeout{60000};
  std::chrono::milliseconds shutdown_timeout{10000};

  std::size_t max_connections_per_worker = 16384;
  // Open connections per client address across all workers (--max-connections-per-client;
  // 0, the default: no limit, as Kong). The peer's address: behind a load balancer, all of its
  // clients share one.
  std::uint32_t max_connections_per_client = 0;
  std::size_t upstream_keepalive_pool_size = 512;       // idle connections per upstream, per worker
  std::size_t upstream_keepalive_max_requests = 10000;  // then the connection is closed
  std::chrono::milliseconds upstream_keepalive_idle_timeout{60000};

  net::DnsOptions dns;  // Kong's dns_resolver, dns_valid_ttl, dns_error_ttl, dns_not_found_ttl
};

}  // namespace portico::proxy
