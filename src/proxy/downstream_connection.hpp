// One client connection: reads requests in order (keep-alive and pipelining), routes
// each one and proxies it to the upstream, streaming bodies both ways.
//
// Lifecycle of a request (see docs/architecture.md):
//   read head (strict parse) -> route -> pick endpoint -> pooled/new upstream connection
//   -> send head + body -> read response head -> send head + body -> log.
// Any error answers with the right status and a JSON body when the response has not
// started, and closes the connection whenever its framing state is uncertain.
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/byte_buffer.hpp"
#include "core/deadline.hpp"
#include "http/header_view.hpp"
#include "net/real_ip.hpp"
#include "net/tls.hpp"
#include "plugin/backend_client.hpp"
#include "plugin/plugin.hpp"
#include "plugin/request_context.hpp"
#include "proxy/head_writer.hpp"
#include "proxy/listener_info.hpp"
#include "proxy/upstream_attempt.hpp"

namespace portico {
class Worker;
}

namespace portico::config {
struct Snapshot;
}

namespace portico::net {
class ConnectionsPerAddress;
}

namespace portico::router {
struct CompiledRoute;
}

namespace portico::proxy {

struct UpstreamConnection;
struct ParkedConnection;
struct Side;
struct PumpResult;
class H2Server;
class H2Stream;
struct Http2Settings;

class DownstreamConnection : private plugin::BodyReader, private plugin::BackendClient {
 public:
  // A new connection from `peer` on a TLS `listener` (its socket set up by the worker:
  // TCP_NODELAY, non-blocking): it begins with a TLS handshake, and every byte goes through its
  // TlsStream; HTTP/2 is offered by ALPN when the listener has `http2`. (A plain connection
  // begins parked: ParkedConnection::accept.)
  DownstreamConnection(Worker& worker, boost::asio::ip::tcp::socket socket, net::ClientPeer peer,
                       const ListenerInfo& listener, std::shared_ptr<const net::TlsServerContext> tls);
  // One stream of `parent`'s HTTP/2 connection: one request through the same lifecycle, its
  // bytes read and written through `stream` (proxy/h2_stream.hpp). The parent outlives it.
  DownstreamConnection(DownstreamConnection& parent, H2Stream& stream);
  // A parked plain connection whose next request's first bytes arrived: takes its socket and
  // what it remembered (see resume()).
  explicit DownstreamConnection(ParkedConnection& parked);
  ~DownstreamConnection();

  // Serves a parked connection's next request: `got` bytes of it are in parked->first_bytes.
  static void resume(std::unique_ptr<ParkedConnection> parked, std::size_t got);

  // Serves requests until the connection closes. Never throws.
  static boost::asio::awaitable<void> serve(std::unique_ptr<DownstreamConnection> self);

  // Called by the worker when draining: closes the connection if it is idle (an HTTP/2
  // connection sends GOAWAY and finishes its streams).
  void close_if_idle();

  // The connection was counted in `per_client` (--max-connections-per-client) under its peer's
  // address: it is given back when the connection ends.
  void hold_client_slot(net::ConnectionsPerAddress* per_client) { per_client_ = per_client; }

 private:
  enum class Next { keep_alive, close };
  struct Exchange;  // per-request state, see .cpp

  boost::asio::awaitable<void> linger();
  // The connection speaks HTTP/2 (ALPN h2, or the h2c preface in in_): until it ends.
  boost::asio::awaitable<void> serve_h2();
  // Whether in_ begins with the h2c preface (reading a little more when it might).
  boost::asio::awaitable<bool> h2c_preface();
  Http2Settings http2_settings() const;
  // Serves the one request of an HTTP/2 stream (a connection made by the stream constructor).
  static boost::asio::awaitable<void> serve_stream(std::unique_ptr<DownstreamConnection> self);
  // The client side for the request lifecycle's reads and writes: the socket (through TLS when
  // the connection has it) or the HTTP/2 stream.
  Side client_side(std::chrono::milliseconds read_timeout, std::chrono::milliseconds write_timeout);
  // The connection's TLS session (a stream's is its connection's), null over plain TCP.
  const net::TlsStream* connection_tls() const;
  bool over_tls() const { return connection_tls() != nullptr; }
  // The TLS handshake, under the client header timeout; false when it failed.
  boost::asio::awaitable<bool> tls_handshake();
  // While idle on a TLS connection: the first decrypted bytes of the next request into
  // idle_bytes_ (the plain path reads the socket directly in serve()).
  boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> tls_idle_read();
  // A read of what is there now, through TLS when the connection has it.
  std::size_t read_now_into(char* data, std::size_t size, boost::system::error_code& ec);
  enum class HeadRead {
    complete,  // request_ holds it
    stalled,   // a plain connection's head stopped arriving for kParkAfter: to park with it
    done,      // answered (an error, a 408) or closed: the connection ends
  };
  // Reads and parses one request head; the buffer holds at least its first bytes.
  boost::asio::awaitable<HeadRead> read_head();
  // Between requests: true when the next request's first bytes could be read at once.
  boost::asio::awaitable<bool> next_request_ready();
  // A plain connection waits in place this long for its next request, then parks. A busy
  // client's next request comes within milliseconds, and parking and resuming cost about 2,400
  // instructions (docs/benchmarks.md): a client slower than this pays them, but it then sends
  // fewer than ten requests a second on that connection.
  static constexpr std::chrono::milliseconds kParkAfter{100};
  // Whether the idle read just ended because kParkAfter passed (and the connection should
  // park rather than close): then it is no longer idle in place.
  bool parks_now(const boost::system::error_code& ec);
  // Hands the socket and the connection's state to a ParkedConnection (which waits for the
  // next request without this object or a coroutine frame, `keepalive_left` at most; or with
  // the bytes of a head that stalled, in_'s, for the rest of it) and ends.
  static void park(std::unique_ptr<DownstreamConnection> self, std::chrono::milliseconds keepalive_left);
  // After an idle read: its `got` bytes into in_ (buffers taken back), and when the read filled
  // its small buffer (`more_may_wait`) what else is there now; false when the connection is done.
  bool take_first_bytes(const char* bytes, std::size_t got, bool more_may_wait);
  // Lends the connection the worker's pooled buffers (each constructor).
  void attach_buffers();
  // Gives back buffers before waiting idle (in place, over TLS) for the next request.
  void go_idle();
  // After the idle read: takes buffers back; false when the connection is done.
  bool wake_up(const boost::system::error_code& ec, std::size_t got);
  boost::asio::awaitable<Next> handle_request();
  // Proxies a routed request: circuit breaker and limits, then attempts (balancer pick,
  // connection, request, response head) with retries, then relays the response.
  boost::asio::awaitable<Next> proxy_request(Exchange& ex);
  // A service-less route: the access phase (a terminal plugin such as aggregate answers),
  // else Kong's 503.
  boost::asio::awaitable<Next> serve_without_service(Exchange& ex);
  // After an answer Portico makes itself (an error, a plugin's): the connection closes when it
  // must (`must_close`: the request's body was not read), the client asked (Connection: close,
  // HTTP/1.0 without keep-alive) or the gateway stops; an HTTP/1.0 client that keeps it is
  // told so (kKeepAliveLine).
  struct AnswerConnection {
    bool close;
    bool tell_keep_alive;
  };
  AnswerConnection own_answer_connection(bool must_close) const;
  static constexpr std::string_view kKeepAliveLine = "Connection: keep-alive\r\n";
  // Answers with Portico's own JSON error; `extra_headers` are complete header lines.
  boost::asio::awaitable<Next> send_error(Exchange* ex, int status, std::string_view message, bool close,
                                          std::string_view extra_headers = {});
  // Writes a complete response Portico produced itself.
  boost::asio::awaitable<Next> send_response(Exchange* ex, int status, std::string response, bool close);
  // Takes a plugin context for the route and runs the access phase synchronously.
  plugin::Access start_plugins(Exchange& ex);
  // BodyReader: reads the whole request body for a plugin (key-auth's key_in_body...).
  boost::asio::awaitable<bool> read_request_body(plugin::RequestContext& ctx) override;
  // BackendClient: a call the gateway makes for a plugin (proxy/backend_call.hpp), with the
  // snapshot the current request is served with.
  boost::asio::awaitable<plugin::BackendResult> call(plugin::RequestContext& parent,
                                                     const plugin::BackendRequest& request) override;
  // The most body bytes this request may send: --max-body-size or a plugin's limit
  // (request-size-limiting), the smaller (0: none); and whether the plugin's is the one.
  std::uint64_t request_body_limit(const plugin::RequestContext* ctx) const;
  bool plugin_limits_body(const plugin::RequestContext* ctx) const;
  // Sends the upstream head and a body a plugin read, from memory.
  boost::asio::awaitable<PumpResult> send_buffered_body(Side& upstream, const std::string& body);
  // Answers with what a plugin set in ctx.reply().
  boost::asio::awaitable<Next> send_plugin_reply(Exchange& ex);
  // Kong's protocol check after the match (router::CompiledRoute's accepts_*): whether the
  // route's protocols take this request, and the refusal when not: https_redirect_status_code
  // for a plain-text request it takes over TLS only, 426 with "Upgrade: websocket" for a
  // request that is not a WebSocket handshake on a ws/wss-only route.
  // Kong's answers when a route's protocols do not take the request (proxy_request.cpp).
  enum class ProtocolRefusal {
    none,
    https_required,
    websocket_required,
    grpc_required,   // a gRPC route, a request that is not gRPC: 415
    http2_required,  // a gRPC route, gRPC over HTTP/1.x: 426
    grpcs_required,  // a grpcs-only route in plain text: grpc-status 1
  };
  ProtocolRefusal protocol_refusal(const router::CompiledRoute& route) const;
  boost::asio::awaitable<Next> send_protocol_refusal(Exchange& ex, ProtocolRefusal refusal, bool close);
  // Over TLS, or (from a --trusted-ips peer) with X-Forwarded-Proto: https, as Kong's
  // forwarded scheme: an https-only route serves it.
  bool arrived_over_https() const;

  // How one attempt at the upstream ended (proxy/upstream_attempt.hpp).
  using Attempt = proxy::Attempt;
  boost::asio::awaitable<Attempt> attempt(Exchange& ex, bool force_fresh, std::unique_ptr<UpstreamConnection>& conn);
  // A new connection to ex.endpoint into `conn`; the failure, or nothing when connected.
  boost::asio::awaitable<std::optional<Attempt>> connect(Exchange& ex, std::unique_ptr<UpstreamConnection>& conn);
  // A gRPC service's attempt: a stream on a pooled HTTP/2 connection to the endpoint (a new
  // connection when none has room, or when `fresh`), as `conn` (UpstreamConnection::h2).
  boost::asio::awaitable<std::optional<Attempt>> open_h2_stream(Exchange& ex, bool fresh,
                                                                std::unique_ptr<UpstreamConnection>& conn);
  std::string_view upstream_host(const Exchange& ex) const;
  // A WebSocket handshake (GET, HTTP/1.1, Connection: upgrade, Upgrade: websocket): sent
  // upstream with its Upgrade; a 101 in answer turns the connection into a tunnel.
  bool websocket_requested() const;
  // A gRPC request (Kong's test: a gRPC content type over HTTP/2): the gateway's own answers
  // to it are gRPC statuses (http/grpc.hpp).
  bool grpc_request() const;
  // A trailers-only answer whose grpc-status the service's grpc_retry_on names.
  static bool grpc_status_retried(const config::ServiceConfig& svc, const http::ResponseHead& response);
  // A gRPC call to a service that retries, whose body went alongside the answer: the copy the
  // pump kept becomes ex.replay_body once the client has sent all of it.
  boost::asio::awaitable<void> keep_body_for_retry(Exchange& ex);
  // After the upstream's 101: the 101 to the client, then bytes both ways until one side ends
  // (proxy/upgrade_tunnel.cpp). The connection closes after.
  boost::asio::awaitable<Next> relay_upgraded(Exchange& ex, std::unique_ptr<UpstreamConnection>& conn);
  // Synchronous parts of the request path, kept out of the coroutines so that their
  // locals do not enlarge the coroutine frames (see docs/architecture.md "Memory").
  void prepare_upstream_request(Exchange& ex);  // balancing key, upstream target, log copies
  // The method the service gets: the client's, or a plugin's (request-transformer). Retry
  // rules follow it. (HEAD is never changed, nor made: the answer's framing depends on it.)
  std::string_view sent_method(const Exchange& ex) const;
  void build_request_head(const Exchange& ex);   // the upstream request head into head_
  void warn_upstream(const UpstreamConnection& conn, std::string_view what, std::string_view detail);
  // Whether the failed attempt may be repeated (on another target) under the service's rules.
  bool may_retry(const Exchange& ex, Attempt failure, int retries_done) const;
  boost::asio::awaitable<void> back_off(const Exchange& ex, int retry_number);
  boost::asio::awaitable<Next> answer_failure(Exchange& ex, Attempt failure);
  // The upstream failed with `status`: true when a plugin answered instead (then send_plugin_reply).
  bool plugins_answer_failure(Exchange& ex, int status);
  static int failure_status(Attempt failure);
  void report_health(const Exchange& ex, Attempt outcome, int status);
  // Builds the client's response head from the upstream's into response_ (running the
  // plugins' response_headers phase); returns whether the client connection stays open.
  // Consumes the upstream head from conn's buffer unless told it already was. With
  // `fixed_length` (a body buffered for plugins, see relay_buffered()) the head says
  // Content-Length: fixed_length.
  bool build_response_head(Exchange& ex, UpstreamConnection& conn, bool& chunk_out,
                           std::optional<std::uint64_t> fixed_length = std::nullopt, bool consume_head = true);
  // The largest body buffered for plugins (request or response) when neither they nor
  // --max-body-size set one.
  static constexpr std::uint64_t kMaxPluginBody = 8 * 1024 * 1024;
  // The response_body plugins' limit on a body they read whole (proxy/buffered_relay.cpp).
  std::uint64_t plugin_body_limit(const plugin::BodyNeed& need) const;
  // Whether the response goes to the client untouched although a plugin wanted its body:
  // it declares a length above the plugins' limit and they let such bodies pass.
  bool streams_untouched(const Exchange& ex, const plugin::BodyNeed& need) const;
  // Relays the response with its whole body read first, for response_body plugins; a body
  // found larger than their limit is refused (502) or, if they let it pass, streamed on untouched.
  boost::asio::awaitable<Next> relay_buffered(Exchange& ex, std::unique_ptr<UpstreamConnection>& conn,
                                              plugin::BodyNeed need);
  void log_request(const Exchange& ex, std::chrono::steady_clock::time_point now);
  // The dashboard's per-route figures (obs/route_traffic.hpp).
  void record_traffic(const Exchange& ex, std::chrono::steady_clock::time_point now);
  // Fills the plugin context's `served` (sizes, latencies, source) for the log phase.
  void note_served(Exchange& ex, std::chrono::steady_clock::time_point now) const;
  // Copies the request head's bytes into `copy` and parses them again from there, so the
  // head's views survive reading the body into the buffer; the current exchange's path and
  // route captures (views into the same bytes when the path needed no normalising) follow.
  void keep_request_head(std::string& copy);
  // The request id ($request_id) and whether the answer carries it (--request-id-*).
  static std::string_view request_id_of(const Exchange& ex);
  bool sends_request_id_downstream() const;
  void append_request_id_line(const Exchange* ex, std::string& out) const;
  // Adds a response to the 4xx/5xx counters (before it is written, so a client never sees it first).
  void count_response_status(int status);

  Worker& worker_;
  boost::asio::ip::tcp::socket socket_;  // (a stream's is never opened)
  std::unique_ptr<net::TlsStream> tls_;  // on a TLS listener
  const ListenerInfo* listener_;         // the one it came in on (its http2: h2c is taken too)
  H2Server* h2_ = nullptr;               // while the connection speaks HTTP/2
  DownstreamConnection* parent_ = nullptr;  // a stream's connection
  H2Stream* stream_ = nullptr;              // a stream's transport
  Deadline deadline_;
  ByteBuffer in_;
  // First bytes of each request, read while idle in place over TLS (a plain connection parks
  // and reads them into its ParkedConnection).
  std::array<char, 128> idle_bytes_;
  Exchange* current_ = nullptr;      // the request being served (handle_request's)
  std::uint64_t requests_served_ = 0;  // on this connection ($connection_requests)
  // The first byte's time of a head begun while parked (its header timeout counts from it);
  // read and cleared by read_head.
  std::chrono::steady_clock::time_point head_started_{};
  HeadBuilder head_;      // upstream request head
  HeadBuilder response_;  // downstream response head
  http::RequestHead request_;
  http::ResponseHead response_head_;  // reused: keeps its field vector's capacity
  std::string upstream_target_;
  net::ClientPeer peer_;  // the TCP peer
  // The client's address for this request: the peer's, or the one a trusted peer forwarded
  // (forwarded_client_ip()): what plugins, the access log and hashing by IP see.
  std::string_view request_ip_;
  std::string forwarded_ip_;
  std::string_view forwarded_client_ip();
  bool idle_ = false;
  bool closing_ = false;
  bool parked_ = false;  // its socket went to a ParkedConnection: destroying this closes nothing
  const config::Snapshot* plugin_snapshot_ = nullptr;  // the current request's, while plugins run
  net::ConnectionsPerAddress* per_client_ = nullptr;   // see hold_client_slot()
  int pending_error_status_ = 0;
  std::string_view pending_error_;
  std::uint64_t retry_jitter_ = 0x2545F4914F6CDD1Dull;  // backoff jitter state
};

}  // namespace portico::proxy
